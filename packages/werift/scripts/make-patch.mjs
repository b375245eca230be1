#!/usr/bin/env node
// Writes the patch file from lib/ as it is now: every file that differs from the pristine werift (devDependency)
// becomes a git-style diff with a/ and b/ prefixes, the form scripts/build.mjs applies. Use it after editing lib/ to
// fix something in werift, or after resolving a hunk that no longer applies to a new werift release (README).
//   node scripts/make-patch.mjs            rewrite the patch named in package.json (parley.patch)
//   node scripts/make-patch.mjs --check    exit 1 if lib/ differs from what the patch file makes
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { createTwoFilesPatch } from "diff";

const root = new URL("..", import.meta.url).pathname;
const self = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const pristine = join(root, "node_modules", "werift", "lib");
const patched = join(root, "lib");

function files(dir) {
  const out = [];
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name !== ".parley-build.json") out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

const added = files(patched).filter((f) => !files(pristine).includes(f));
if (added.length) throw new Error(`make-patch: files that werift does not have are not supported: ${added.join(", ")}`);
let patch = "";
for (const file of files(pristine)) {
  const before = readFileSync(join(pristine, file), "utf8");
  const after = readFileSync(join(patched, file), "utf8");
  if (before === after) continue;
  const name = `lib/${file}`;
  const body = createTwoFilesPatch(`a/${name}`, `b/${name}`, before, after, undefined, undefined, { context: 3 });
  // jsdiff starts with an "====" separator line; git's header is what `git apply` and reviewers expect.
  patch += `diff --git a/${name} b/${name}\n${body.replace(/^=+\n/, "")}`;
}
const target = join(root, self.parley.patch);
if (process.argv.includes("--check")) {
  const current = readFileSync(target, "utf8");
  if (current !== patch) {
    console.error(`make-patch: ${self.parley.patch} is not what lib/ holds; run node scripts/make-patch.mjs`);
    process.exit(1);
  }
} else {
  writeFileSync(target, patch);
  console.log(`make-patch: wrote ${self.parley.patch}`);
}
