// Builds the browser client: one ESM file with valibot and eventemitter3 inlined and no Node code (`ws` is mapped
// to nothing by package.json's "browser" field; browsers use their own WebSocket). Run after `tsc -b`.
import { build } from "esbuild";

const root = new URL("..", import.meta.url).pathname;
const result = await build({
  entryPoints: [`${root}src/client/browser.ts`],
  outfile: `${root}dist/browser/parley-signal.js`,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  sourcemap: true,
  metafile: true,
  logLevel: "warning",
});
const inputs = Object.keys(result.metafile.inputs);
const nodeOnly = inputs.filter((p) => !p.startsWith("(disabled):") && /node_modules\/(\.pnpm\/)?ws[@/]|^node:/.test(p));
if (nodeOnly.length) throw new Error(`browser bundle pulled in Node-only code: ${nodeOnly.join(", ")}`);
