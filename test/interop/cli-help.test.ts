// Every command a package installs answers --help and --version the way operators expect: usage on stdout, exit 0,
// no log prefix, the version from the package that shipped it. One row per command line.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runProgram } from "../helpers/programs.js";

const pkg = (name: string) => fileURLToPath(new URL(`../../packages/${name}/`, import.meta.url));
const version = (name: string) => JSON.parse(readFileSync(`${pkg(name)}package.json`, "utf8")).version as string;

// [package, bin file, command name]
const COMMANDS: Array<[string, string, string]> = [
  ["peer", "bin/parley.js", "parley"],
  ["signal", "bin/parley-signal.js", "parley-signal"],
  ["turn", "bin/parley-turn.js", "parley-turn"],
  ["turn", "bin/parley-turnadmin.js", "parley-turnadmin"],
];

// [package, bin file, arguments, what the usage must mention]
const HELP: Array<[string, string, string[], RegExp]> = [
  ["peer", "bin/parley.js", ["--help"], /parley record[\s\S]*parley play[\s\S]*parley echo/],
  ["peer", "bin/parley.js", ["record", "--help"], /Usage: parley record[\s\S]*--rotate-minutes/],
  ["peer", "bin/parley.js", ["play", "--help"], /Usage: parley play FILE[\s\S]*--loop/],
  ["peer", "bin/parley.js", ["echo", "--help"], /Usage: parley echo[\s\S]*--room/],
  [
    "peer",
    "bin/parley.js",
    ["whip-server", "--help"],
    /Usage: parley whip-server[\s\S]*POST \/whep\/\{room\}[\s\S]*--max-sessions/,
  ],
  ["signal", "bin/parley-signal.js", ["--help"], /Usage: parley-signal[\s\S]*--cert FILE --key FILE/],
  ["turn", "bin/parley-turn.js", ["--help"], /Usage: parley-turn[\s\S]*parley-turn probe/],
  ["turn", "bin/parley-turn.js", ["probe", "--help"], /Usage: parley-turn probe URL[\s\S]*--insecure/],
  ["turn", "bin/parley-turnadmin.js", ["--help"], /Usage: parley-turnadmin -k -u USER -r REALM -p PASSWORD/],
];

describe("command-line help and version", () => {
  for (const [name, bin, command] of COMMANDS) {
    it(`${command} --version prints "${command} <version of @parley/${name}>"`, async () => {
      const run = await runProgram(process.execPath, [`${pkg(name)}${bin}`, "--version"], { timeoutMs: 20_000 });
      expect(run.output).toBe(`${command} ${version(name)}\n`);
      expect(run.code).toBe(0);
    });
  }
  for (const [name, bin, args, mentions] of HELP) {
    it(`${bin.replace(/^bin\/|\.js$/g, "")} ${args.join(" ")} prints its usage, unprefixed, and exits 0`, async () => {
      const run = await runProgram(process.execPath, [`${pkg(name)}${bin}`, ...args], { timeoutMs: 20_000 });
      expect(run.output).toMatch(/^Usage:/);
      expect(run.output).not.toMatch(/^\[\d\d:\d\d:\d\d\]/m);
      expect(run.output).toMatch(mentions);
      expect(run.code).toBe(0);
    });
  }
  it("parley with an unknown command names it and exits 2", async () => {
    const run = await runProgram(process.execPath, [`${pkg("peer")}bin/parley.js`, "recrod"], { timeoutMs: 20_000 });
    expect(run.output).toMatch(/parley: unknown command "recrod"/);
    expect(run.code).toBe(2);
  });
});
