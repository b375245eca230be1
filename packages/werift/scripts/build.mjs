#!/usr/bin/env node
// Makes lib/: the pristine werift from the registry (our devDependency, pinned) with patches/*.patch applied.
// Run by the workspace's postinstall and by `prepack`, so the tarball npm users install is exactly the code the
// suites run. A second run with the same upstream and patch does nothing (stamp in lib/.parley-build.json).
// Fails loudly — file and hunk — when a hunk does not apply, and when werift's dependencies drift from ours.
import { createHash } from "node:crypto";
import { cpSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyPatch, parsePatch } from "diff";

const root = new URL("..", import.meta.url).pathname;
const self = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const patchText = readFileSync(join(root, self.parley.patch), "utf8");
const stampFile = join(root, "lib", ".parley-build.json");
const stamp = { upstream: self.parley.upstream, patch: createHash("sha256").update(patchText).digest("hex") };

if (existsSync(stampFile) && readFileSync(stampFile, "utf8") === JSON.stringify(stamp)) process.exit(0);

// werift's exports do not include package.json, so the devDependency is found where pnpm links it.
const upstreamDir = join(root, "node_modules", "werift");
if (!existsSync(join(upstreamDir, "package.json"))) {
  // An installed @parley/werift has lib/ and no devDependencies: nothing to build, and nothing may change.
  if (existsSync(join(root, "lib"))) process.exit(0);
  throw new Error("@parley/werift: werift (devDependency) is not installed and lib/ is missing; run pnpm install");
}
const upstream = JSON.parse(readFileSync(join(upstreamDir, "package.json"), "utf8"));
if (`werift@${upstream.version}` !== self.parley.upstream)
  throw new Error(
    `@parley/werift: installed werift ${upstream.version}, package.json parley.upstream says ${self.parley.upstream}`,
  );
// Our package.json is what npm installs for users, so werift's runtime dependencies must be listed there verbatim.
const drift = Object.entries(upstream.dependencies ?? {}).filter(([name, range]) => self.dependencies[name] !== range);
if (drift.length)
  throw new Error(
    `@parley/werift: dependencies differ from werift's: ${drift.map(([n, r]) => `${n}@${r}`).join(", ")}`,
  );

const work = join(root, "lib.building");
rmSync(work, { recursive: true, force: true });
cpSync(join(upstreamDir, "lib"), work, { recursive: true });
const files = parsePatch(patchText);
for (const file of files) {
  const relative = file.newFileName.replace(/^b\//, "").replace(/^lib\//, "");
  const target = join(work, relative);
  const patched = applyPatch(readFileSync(target, "utf8"), file);
  if (patched === false) {
    const firstHunk = file.hunks[0];
    throw new Error(
      `@parley/werift: ${self.parley.patch} does not apply to ${upstream.name}@${upstream.version} ` +
        `lib/${relative} (hunks from line ${firstHunk?.oldStart}); see README "A new werift release"`,
    );
  }
  writeFileSync(target, patched);
}
writeFileSync(join(work, ".parley-build.json"), JSON.stringify(stamp));
rmSync(join(root, "lib"), { recursive: true, force: true });
renameSync(work, join(root, "lib"));
console.log(`@parley/werift: lib/ = ${self.parley.upstream} + ${files.length} patched files`);
