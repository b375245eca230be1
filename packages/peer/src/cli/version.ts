import { createRequire } from "node:module";

/** This package's version, for `--version` (read from package.json, which sits two levels above dist/cli/). */
export const VERSION = (createRequire(import.meta.url)("../../package.json") as { version: string }).version;
