// Builds the browser bundles, after `tsc -b`: one ESM file each with valibot and eventemitter3 inlined and no Node
// code (`ws` is mapped to nothing by @parley/signal's "browser" field; browsers use their own WebSocket).
//   @parley/signal  dist/browser/parley-signal.js   the signalling client
//   @parley/browser dist/browser/parley-browser.js  joinRoom + the signalling client: a page loads one file
import { build } from "esbuild";

const packages = new URL("../packages/", import.meta.url).pathname;
const bundles = [
  { entry: "signal/src/client/browser.ts", out: "signal/dist/browser/parley-signal.js" },
  { entry: "browser/src/index.ts", out: "browser/dist/browser/parley-browser.js" },
];

for (const { entry, out } of bundles) {
  const result = await build({
    entryPoints: [packages + entry],
    outfile: packages + out,
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
  const nodeOnly = inputs.filter(
    (p) => !p.startsWith("(disabled):") && /node_modules\/(\.pnpm\/)?ws[@/]|^node:/.test(p),
  );
  if (nodeOnly.length) throw new Error(`${out} pulled in Node-only code: ${nodeOnly.join(", ")}`);
}
