#!/usr/bin/env node
// The one test command (README Quick start, .ci/run): tools → build → lint → every suite on Node 24 → smoke suites
// on Node 22 and the machine's Node → check that no test left a process behind → one summary line. Exit code 0 only
// if all of it passed.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { installMissingTools, tools } from "./helpers/tools.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const started = Date.now();
const ci = process.env.CI === "true";
const runId = randomUUID();
const results = [];
const say = (line) => console.log(`[parley test] ${line}`);

function run(label, command, args, env = {}) {
  return new Promise((resolve) => {
    say(`${label}: ${command} ${args.join(" ")}`);
    const t0 = Date.now();
    const child = spawn(command, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
    child.on("exit", (code, signal) => {
      const ok = code === 0;
      results.push({ label, ok, seconds: (Date.now() - t0) / 1000, detail: ok ? "" : `exit ${code ?? signal}` });
      resolve(ok);
    });
    child.on("error", (err) => {
      results.push({ label, ok: false, seconds: 0, detail: err.message });
      resolve(false);
    });
  });
}

// 1. Outside programs the interop suites need.
const stillMissing = installMissingTools(say);
for (const name of stillMissing) {
  const tool = tools.find((t) => t.name === name);
  say(
    `MISSING ${name} (Debian package ${tool.debian}): ${ci ? "CI=true, so this fails the run" : `skipping ${tool.suites}`}`,
  );
}
if (ci && stillMissing.length > 0)
  results.push({ label: "tools", ok: false, seconds: 0, detail: stillMissing.join(",") });

// 2. Build, 3. lint.
const bin = (name) => `${root}node_modules/.bin/${name}`;
const built =
  (await run("build", bin("tsc"), ["-b"])) &&
  (await run("browser bundle", process.execPath, [`${root}scripts/bundle-browser.mjs`]));
await run("lint", bin("biome"), ["check", "."]);

// 4. Every suite on Node 24, the first runtime (active LTS), then 5. the package suites as smoke runs on Node 22 and on
// the machine's own Node when that is another (Node 20 here: past end of life, still expected to work). Node 22/24
// come from the npm package `node` through npx, so a machine with any Node and npm can run this. PARLEY_TEST_RUN is
// inherited by every process the tests start (and their children), which is how step 6 finds strays.
mkdirSync(`${root}test-results`, { recursive: true });
const counts = { passed: 0, failed: 0, skipped: 0 };
const machineMajor = process.versions.node.split(".")[0];
const runtimes = [
  { label: "Node 24", command: "npx", prefix: ["-y", "node@24"], projects: [] },
  {
    label: "Node 22 (smoke)",
    command: "npx",
    prefix: ["-y", "node@22"],
    projects: ["turn", "signal", "peer", "werift"],
  },
  ...(["22", "24"].includes(machineMajor)
    ? []
    : [
        {
          label: `Node ${process.versions.node} (smoke)`,
          command: process.execPath,
          prefix: [],
          projects: ["turn", "signal", "peer", "werift"],
        },
      ]),
];
if (built) {
  for (const runtime of runtimes) {
    const report = `${root}test-results/vitest-${runtime.label.split(" ").slice(0, 2).join("")}.json`;
    await run(
      `vitest on ${runtime.label}`,
      runtime.command,
      [
        ...runtime.prefix,
        `${root}node_modules/vitest/vitest.mjs`,
        "run",
        "--config",
        "test/vitest.config.ts",
        ...runtime.projects.flatMap((p) => ["--project", p]),
        "--reporter=default",
        "--reporter=json",
        `--outputFile.json=${report}`,
      ],
      { PARLEY_TEST_RUN: runId },
    );
    addCounts(report);
  }
}

// 6. No stray processes: anything still alive with our run id in its environment was left behind by a test.
const strays = findStrays(runId);
results.push({
  label: "no stray processes",
  ok: strays.length === 0,
  seconds: 0,
  detail: strays.map((s) => `${s.pid} ${s.cmd}`).join("; "),
});
for (const stray of strays) {
  try {
    process.kill(stray.pid, "SIGKILL");
  } catch {}
}

// 7. Summary.
const minutes = ((Date.now() - started) / 60000).toFixed(1);
console.log("\n[parley test] summary");
for (const r of results)
  console.log(`  ${r.ok ? "ok  " : "FAIL"} ${r.label} (${r.seconds.toFixed(0)} s)${r.detail ? `: ${r.detail}` : ""}`);
const failedSteps = results.filter((r) => !r.ok).length;
console.log(`  ${minutes} min in all; ${failedSteps} failed step(s)`);
console.log(`tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
process.exit(failedSteps === 0 && counts.passed > 0 ? 0 : 1);

function addCounts(file) {
  try {
    const json = JSON.parse(readFileSync(file, "utf8"));
    counts.passed += json.numPassedTests ?? 0;
    counts.failed += json.numFailedTests ?? 0;
    counts.skipped += (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0);
  } catch {
    say(`no report at ${file}`);
  }
}

function findStrays(id) {
  const found = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "latin1");
      if (!environ.includes(`PARLEY_TEST_RUN=${id}`)) continue;
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "latin1").replaceAll("\0", " ").trim();
      found.push({ pid: Number(entry), cmd: cmd.slice(0, 120) });
    } catch {}
  }
  return found;
}
