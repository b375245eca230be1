#!/usr/bin/env node
// The one test command (README Quick start, .ci/run): tools → build → lint → every suite on this Node → smoke suite
// on Node 24 → check that no test left a process behind → one summary line. Exit code 0 only if all of it passed.
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

// 4. Every suite, on the Node running this script. PARLEY_TEST_RUN is inherited by every process the tests start
// (and their children), which is how step 6 finds strays.
mkdirSync(`${root}test-results`, { recursive: true });
const counts = { passed: 0, failed: 0, skipped: 0 };
if (built) {
  const report = `${root}test-results/vitest-node${process.versions.node.split(".")[0]}.json`;
  await run(
    `vitest on Node ${process.versions.node}`,
    bin("vitest"),
    [
      "run",
      "--config",
      "test/vitest.config.ts",
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${report}`,
    ],
    { PARLEY_TEST_RUN: runId },
  );
  addCounts(report);

  // 5. Smoke suite on Node 24 (package units; they cover each package's real sockets and werift).
  const report24 = `${root}test-results/vitest-node24.json`;
  await run(
    "vitest on Node 24 (smoke)",
    "npx",
    [
      "-y",
      "node@24",
      `${root}node_modules/vitest/vitest.mjs`,
      "run",
      "--config",
      "test/vitest.config.ts",
      "--project",
      "turn",
      "--project",
      "signal",
      "--project",
      "peer",
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${report24}`,
    ],
    { PARLEY_TEST_RUN: runId },
  );
  addCounts(report24);
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
