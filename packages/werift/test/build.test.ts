// @parley/werift is pristine werift plus one patch file, made by scripts/build.mjs at install and pack time. These
// tests hold the package to that: lib/ is exactly what the committed patch makes, each fix is marked where it lives,
// and the build refuses (naming the file) a patch that does not apply or dependencies that drifted from werift's.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const self = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const patchText = readFileSync(join(root, self.parley.patch), "utf8");
const node = (script: string, cwd: string, ...args: string[]) =>
  spawnSync(process.execPath, [join(cwd, "scripts", script), ...args], { cwd, encoding: "utf8" });

/** A copy of the package (scripts, patch, package.json) in a temp dir, sharing node_modules, with no lib/ yet. */
function scratchPackage(edit: { patch?: (text: string) => string; pkg?: (p: typeof self) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "parley-werift-"));
  cpSync(join(root, "scripts"), join(dir, "scripts"), { recursive: true });
  cpSync(join(root, "patches"), join(dir, "patches"), { recursive: true });
  const pkg = structuredClone(self);
  edit.pkg?.(pkg);
  writeFileSync(join(dir, "package.json"), JSON.stringify(pkg));
  if (edit.patch) writeFileSync(join(dir, self.parley.patch), edit.patch(patchText));
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  scratch.push(dir);
  return dir;
}
const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("@parley/werift", () => {
  it("lib/ is the pristine werift plus exactly the committed patch", () => {
    const check = node("make-patch.mjs", root, "--check");
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
  });

  it("marks every fix where it lives: each patched file says Parley patch", () => {
    const patched = [...patchText.matchAll(/^\+\+\+ b\/(\S+)/gm)].map((m) => m[1]!);
    expect(patched.length).toBeGreaterThanOrEqual(10);
    for (const file of patched) expect(readFileSync(join(root, file), "utf8"), file).toContain("Parley patch");
  });

  it("builds the same lib/ from scratch", () => {
    const dir = scratchPackage({});
    const build = node("build.mjs", dir);
    expect(build.status, build.stderr).toBe(0);
    for (const file of ["lib/index.mjs", "lib/ice/src/ice.js", "lib/sctp/src/sctp.js"])
      expect(readFileSync(join(dir, file), "utf8")).toBe(readFileSync(join(root, file), "utf8"));
  });

  it("refuses a patch that no longer applies, naming the file", () => {
    // What a new werift release looks like to the patch: the context around a hunk changed.
    const dir = scratchPackage({
      patch: (text) =>
        text.replace(
          "value: (condition) => new Promise(async (r, f) => {",
          "value: (cond) => new Promise(async (r, f) => {",
        ),
    });
    const build = node("build.mjs", dir);
    expect(build.status).not.toBe(0);
    expect(build.stderr).toMatch(/does not apply to werift@0\.25\.2 lib\/dtls\/src\/socket\.js/);
  });

  it("refuses dependencies that drift from werift's (what npm installs for users must match)", () => {
    const dir = scratchPackage({ pkg: (p) => delete p.dependencies.debug });
    const build = node("build.mjs", dir);
    expect(build.status).not.toBe(0);
    expect(build.stderr).toMatch(/dependencies differ from werift's: debug@4\.4\.0/);
  });
});
