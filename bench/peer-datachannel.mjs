#!/usr/bin/env node
// Peer benchmark: data-channel setup time, throughput and the cost of each idle connection, for werift (what
// @parley/peer runs on, with Parley's patches) and for @roamhq/wrtc (libwebrtc), each in its own process, in the
// same run; plus Parley's whole path from join() to an open channel through a real signalling server.
// Env: BENCH_SETUPS (10), BENCH_MB (32), BENCH_PAIRS (40).
import { spawnSync } from "node:child_process";
import { median, parleyJoinToOpen, report } from "./lib.mjs";

const here = new URL(".", import.meta.url).pathname;

function stack(name) {
  const run = spawnSync(process.execPath, ["--expose-gc", `${here}peer/stack-worker.mjs`, name], {
    encoding: "utf8",
    env: process.env,
    timeout: 600_000,
  });
  const line = run.stdout.split("\n").find((l) => l.startsWith("{"));
  if (!line) throw new Error(`${name} worker failed (${run.status}):\n${run.stderr.slice(-2000)}`);
  return JSON.parse(line);
}

const werift = stack("werift");
const wrtc = stack("wrtc");
// Loopback host candidates only (tests and benches stay on the machine).
const joinToOpenMs = median(
  await parleyJoinToOpen(
    { ...(await import("@parley/peer")), ...(await import("@parley/signal")) },
    { rtc: { iceUseIpv6: false, iceAdditionalHostAddresses: ["127.0.0.1"] } },
  ),
);
const r = (x) => Number(x.toFixed(2));
report(
  "peer-datachannel",
  {
    werift,
    wrtc,
    parleyJoinToOpenMs: joinToOpenMs,
    ratio: {
      setup: werift.setupMsMedian / wrtc.setupMsMedian,
      throughput: werift.mbPerSecond / wrtc.mbPerSecond,
      rssPerConnection: werift.rssKiBPerConnection / wrtc.rssKiBPerConnection,
    },
  },
  `setup ${r(werift.setupMsMedian)} ms vs wrtc ${r(wrtc.setupMsMedian)} ms (goal ≤ 50 ms); ` +
    `throughput ${r(werift.mbPerSecond)} vs ${r(wrtc.mbPerSecond)} MB/s = ${r(werift.mbPerSecond / wrtc.mbPerSecond)}× (goal ≥ 1×); ` +
    `per idle connection ${r(werift.rssKiBPerConnection)} vs ${r(wrtc.rssKiBPerConnection)} KiB RSS, ` +
    `${r(werift.cpuPercentPerConnection)}% vs ${r(wrtc.cpuPercentPerConnection)}% CPU; Parley join→open ${r(joinToOpenMs)} ms`,
);
process.exit(0);
