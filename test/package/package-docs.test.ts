// What the npm page of each package shows must work there: a README with an Install section, links that resolve
// outside this repository (npm renders README.md without the repository around it), and the files the README points
// to shipped in the tarball (PROTOCOL.md, LICENSE).
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const packages = fileURLToPath(new URL("../../packages/", import.meta.url));
const names = readdirSync(packages).filter((n) => !n.startsWith("."));

describe("package READMEs as npm shows them", () => {
  it("covers every package", () => {
    expect(names.sort()).toEqual(["browser", "peer", "signal", "turn", "werift"]);
  });
  for (const name of names) {
    const readme = readFileSync(`${packages}${name}/README.md`, "utf8");
    const pkg = JSON.parse(readFileSync(`${packages}${name}/package.json`, "utf8"));
    it(`@parley/${name}: has an Install section with the npm command`, () => {
      expect(readme).toMatch(/^## Install\n[\s\S]*?npm install @parley\/\w+/m);
    });
    it(`@parley/${name}: links only to absolute URLs (relative ones break on the npm page)`, () => {
      const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
      expect(links.filter((l) => !/^https:\/\//.test(l))).toEqual([]);
    });
    it(`@parley/${name}: ships its README and LICENSE, and no build info`, () => {
      expect(pkg.license).toBe("MIT");
      expect(pkg.files).toEqual(expect.arrayContaining(["README.md", "LICENSE"]));
      if (pkg.files.includes("dist")) expect(pkg.files).toContain("!dist/.tsbuildinfo");
    });
  }
  it("@parley/signal ships PROTOCOL.md and protocol.schema.json, which its README names", () => {
    const pkg = JSON.parse(readFileSync(`${packages}signal/package.json`, "utf8"));
    expect(pkg.files).toEqual(expect.arrayContaining(["PROTOCOL.md", "protocol.schema.json"]));
    const readme = readFileSync(`${packages}signal/README.md`, "utf8");
    expect(readme).toContain("PROTOCOL.md");
    expect(readme).toContain("protocol.schema.json");
  });
});
