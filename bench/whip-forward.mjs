#!/usr/bin/env node
// WHIP publishers per core, each forwarded to one WHEP viewer, at ~1 Mbps VP8 + Opus without loss. The server
// process (signalling + WHIP/WHEP) is measured; publishers and viewers (werift clients) run in another process. Steps
// K up (BENCH_STEPS, default "2,4,6,8"); a step is loss-free when every viewer got every video frame and ≥ 99.9 % of
// the packets sent. Reports publishers per core = K / server cores used, at the largest loss-free K. No reference
// stack forwards WebRTC media in Node without re-encoding (@roamhq/wrtc decodes and encodes a forwarded track), so the
// figure stands alone; BENCH_PROF=DIR writes a CPU profile of the server.
import { spawn } from "node:child_process";
import { cpuMicros, lines, report, rssKiB } from "./lib.mjs";

const here = new URL(".", import.meta.url).pathname;
const steps = (process.env.BENCH_STEPS ?? "2,4,6,8").split(",").map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 12);

async function step(k) {
  const server = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROF}`] : []),
      `${here}whip/server-worker.mjs`,
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const serverSays = lines(server).wait;
  const port = (await serverSays(/^ready/)).split(" ")[1];
  const load = spawn(
    process.execPath,
    [`${here}whip/load-worker.mjs`, `http://127.0.0.1:${port}`, String(k), String(SECONDS)],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const loadSays = lines(load).wait;
  await loadSays(/^ready/);
  const cpu0 = cpuMicros(server.pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, (SECONDS - 2) * 1000));
  const cores = (cpuMicros(server.pid) - cpu0) / ((performance.now() - t0) * 1000);
  const rss = rssKiB(server.pid);
  const result = JSON.parse((await loadSays(/^result /)).slice(7));
  server.stdin.write("stop\n");
  await serverSays(/^stopped/);
  const sentPackets = result.sentVideoPackets + result.sentAudioPackets;
  const lossFree = result.viewers.every(
    (v) => v.frames >= result.sentFrames && v.video + v.audio >= sentPackets * 0.999,
  );
  return { k, cores, rssKiB: rss, ...result, lossFree };
}

const results = [];
for (const k of steps) {
  const r = await step(k);
  results.push(r);
  const worst = r.viewers.reduce((a, v) => Math.min(a, v.frames), Number.POSITIVE_INFINITY);
  console.log(
    `K=${k}: server ${(r.cores * 100).toFixed(0)}% of a core, ${Math.round(r.rssKiB / 1024)} MiB RSS; worst viewer ${worst}/${r.sentFrames} frames ${r.lossFree ? "(no loss)" : "(LOSS)"}`,
  );
  if (!r.lossFree) break;
}
const best = results.filter((r) => r.lossFree).at(-1);
const perCore = best ? best.k / best.cores : 0;
report(
  "whip-forward",
  { steps: results.map(({ viewers, ...rest }) => ({ ...rest, viewers: viewers.length })), perCore },
  best
    ? `${best.k} publishers, each to one viewer, loss-free at ${(best.cores * 100).toFixed(0)}% of a core → ${perCore.toFixed(1)} publishers per core; ${((best.cores * 100) / best.k).toFixed(1)}% CPU and ${Math.round(best.rssKiB / best.k / 1024)} MiB RSS per publisher+viewer (whole-process RSS)`
    : "no step was loss-free",
);
process.exit(0);
