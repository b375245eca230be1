// TURN relay under load: N allocations send ChannelData through the server to an echo peer and back, at a paced
// offered rate; then RSS per idle allocation with many allocations open. Parley's server and coturn's turnserver
// get the identical load in the same run, and the ratios are printed.
import { TurnClient } from "@parley/turn";
import { cpuMicros, freePort, report, rssKiB, startServer } from "./lib.mjs";

const env = (name, fallback) => Number(process.env[name] ?? fallback);
const allocations = env("BENCH_ALLOCATIONS", 50);
const offeredPps = env("BENCH_PPS", 10_000);
const seconds = env("BENCH_SECONDS", 5);
const payload = env("BENCH_PAYLOAD", 200);
const idleAllocations = env("BENCH_IDLE_ALLOCATIONS", 10_000);
const benchDir = new URL(".", import.meta.url).pathname;
const turnCli = new URL("../packages/turn/dist/cli/turnserver.js", import.meta.url).pathname;
const user = { username: "bench", password: "bench-password" };

const servers = {
  parley: (port) =>
    startServer(
      process.execPath,
      [
        // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles Parley's server under this exact load.
        ...(process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean),
        turnCli,
        "-L",
        "127.0.0.1",
        "-p",
        String(port),
        "--no-tls",
        `--user=${user.username}:${user.password}`,
        "-r",
        "bench",
        "--allow-loopback-peers",
        "--min-port=20000",
        "--max-port=60000",
      ],
      /ready/,
    ),
  coturn: (port) =>
    startServer(
      "turnserver",
      [
        "-n",
        "--no-cli",
        "--log-file=stdout",
        "-L",
        "127.0.0.1",
        "-E",
        "127.0.0.1",
        "-p",
        String(port),
        "--no-tls",
        "--no-dtls",
        "-a",
        `--user=${user.username}:${user.password}`,
        "-r",
        "bench",
        "--allow-loopback-peers",
        "--min-port=20000",
        "--max-port=60000",
        "-m",
        "1",
        "--no-stdout-log",
      ],
      /listener opened|Total General servers|relay threads/,
    ).then(async (s) => {
      await new Promise((r) => setTimeout(r, 300));
      return s;
    }),
};

async function inBatches(count, size, fn) {
  const out = [];
  for (let i = 0; i < count; i += size)
    out.push(...(await Promise.all(Array.from({ length: Math.min(size, count - i) }, (_, j) => fn(i + j)))));
  return out;
}

async function relayLoad(port, echoPort) {
  const peer = { address: "127.0.0.1", port: echoPort };
  const clients = await inBatches(allocations, 25, async () => {
    const c = await TurnClient.connect({ host: "127.0.0.1", port, ...user });
    await c.allocate();
    await c.bindChannel(peer);
    return c;
  });
  let received = 0;
  const rtts = [];
  for (const c of clients) {
    c.on("data", (data) => {
      received++;
      if (received % 8 === 0) rtts.push(Number(process.hrtime.bigint() - data.readBigUInt64BE(0)) / 1000);
    });
  }
  const packet = Buffer.alloc(payload);
  let sent = 0;
  const tickMs = 5;
  const perTick = (offeredPps * tickMs) / 1000;
  let carry = 0;
  const t0 = Date.now();
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      carry += perTick;
      const n = Math.floor(carry);
      carry -= n;
      for (let i = 0; i < n; i++) {
        packet.writeBigUInt64BE(process.hrtime.bigint(), 0);
        clients[sent % clients.length].send(peer, packet);
        sent++;
      }
      if (Date.now() - t0 >= seconds * 1000) {
        clearInterval(timer);
        resolve();
      }
    }, tickMs);
  });
  await new Promise((r) => setTimeout(r, 500)); // let the last round trips land
  // Delete the allocations: a later client that gets the same ephemeral port would otherwise hit them (437).
  await Promise.all(clients.map((c) => c.refresh(0).catch(() => {})));
  for (const c of clients) c.close();
  rtts.sort((a, b) => a - b);
  return {
    offeredPps: Math.round(sent / seconds),
    deliveredPps: Math.round(received / seconds),
    lossPct: Number((((sent - received) / sent) * 100).toFixed(2)),
    rttP50us: Math.round(rtts[Math.floor(rtts.length * 0.5)] ?? 0),
    rttP99us: Math.round(rtts[Math.floor(rtts.length * 0.99)] ?? 0),
    sent,
    received,
  };
}

async function idleRss(pid, port) {
  const before = rssKiB(pid);
  let retries = 0;
  const clients = await inBatches(idleAllocations, 50, async () => {
    // Under this burst coturn sometimes answers a retransmitted Allocate with 437; a fresh 5-tuple is the client's
    // remedy (RFC 8656 §7.3), applied the same way to both servers and counted.
    for (let attempt = 0; ; attempt++) {
      const c = await TurnClient.connect({ host: "127.0.0.1", port, ...user, timeoutMs: 20_000 });
      try {
        await c.allocate();
        return c;
      } catch (err) {
        c.close();
        if (attempt >= 3 || err.stunCode !== 437) throw err;
        retries++;
      }
    }
  });
  await new Promise((r) => setTimeout(r, 1000));
  const after = rssKiB(pid);
  for (const c of clients) c.close();
  return {
    idleAllocations,
    allocateRetries: retries,
    rssBeforeKiB: before,
    rssAfterKiB: after,
    bytesPerIdleAllocation: Math.round(((after - before) * 1024) / idleAllocations),
  };
}

async function measure(name) {
  const port = await freePort();
  const echoPort = await freePort();
  const echo = await startServer(process.execPath, [`${benchDir}servers/echo-peer.mjs`, String(echoPort)], /listening/);
  const server = await servers[name](port);
  try {
    const pid = server.child.pid;
    const cpu0 = cpuMicros(pid);
    const load = await relayLoad(port, echoPort);
    const cpu = cpuMicros(pid) - cpu0;
    // Each round trip is two relayed packets (client→peer, peer→client).
    const cpuUsPerPacket = Number((cpu / Math.max(1, load.sent + load.received)).toFixed(2));
    const idle = idleAllocations > 0 ? await idleRss(pid, port) : undefined;
    return { name, ...load, cpuUsPerPacket, rssKiB: rssKiB(pid), idle };
  } finally {
    await server.stop();
    await echo.stop();
  }
}

const only = process.env.BENCH_ONLY; // "parley" to profile without the reference run
const parley = await measure("parley");
if (only === "parley") process.exit(0);
const coturn = await measure("coturn");
const ratio = {
  deliveredPps: Number((parley.deliveredPps / coturn.deliveredPps).toFixed(2)),
  cpuPerPacket: Number((parley.cpuUsPerPacket / coturn.cpuUsPerPacket).toFixed(2)),
  rttP99: Number((parley.rttP99us / Math.max(1, coturn.rttP99us)).toFixed(2)),
  idleBytesPerAllocation:
    parley.idle && coturn.idle
      ? Number((parley.idle.bytesPerIdleAllocation / Math.max(1, coturn.idle.bytesPerIdleAllocation)).toFixed(2))
      : null,
};
report(
  "turn-relay",
  { allocations, offeredPps, seconds, payload, parley, coturn, ratio },
  `${allocations} allocations at ${offeredPps} pps offered: Parley delivers ${ratio.deliveredPps}× coturn's pps (loss ${parley.lossPct}% vs ${coturn.lossPct}%), ${ratio.cpuPerPacket}× its CPU per packet, ${ratio.rttP99}× its p99 RTT; idle allocation ${parley.idle?.bytesPerIdleAllocation ?? "?"} B vs ${coturn.idle?.bytesPerIdleAllocation ?? "?"} B (${ratio.idleBytesPerAllocation}×)`,
);
