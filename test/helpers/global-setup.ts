import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

// Interop suites run the packages' command-line programs from dist/, so build first (incremental: fast when fresh).
export default function setup(): void {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  execFileSync(`${root}node_modules/.bin/tsc`, ["-b"], { cwd: root, stdio: "inherit" });
  execFileSync(process.execPath, [`${root}scripts/bundle-browser.mjs`], { cwd: root, stdio: "inherit" });
}
