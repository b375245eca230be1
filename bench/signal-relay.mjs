#!/usr/bin/env node
// Signalling relay benchmark: N clients in pairs; each sender keeps WINDOW ~700-byte candidate-like messages in
// flight to its partner (closed loop: a new one as each arrives), for DURATION seconds, through Parley's server and
// through the PeerJS server, each in its own process, in the same run. Reports delivered messages/s, p50/p99
// latency, server CPU µs per message, and server RSS per idle connection. The load generator is the same raw `ws`
// code for both, so only the servers differ. Parley is measured three ways: one node in memory (the default), one
// node on Redis, and two nodes on one Redis with every pair split across them (each message crosses nodes); the Redis
// server's own CPU is counted apart (it is a separate cost an operator pays).
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { cpuMicros, freePort, report, settledRssKiB, startServer } from "./lib.mjs";

const here = new URL(".", import.meta.url).pathname;
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 200);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 8);
const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const IDLE = Number(process.env.BENCH_IDLE ?? 2000);
// The load generator must stay cheaper than the servers it drives (two cores, shared): zero masking keys (legal,
// RFC 6455 §5.3 only asks that they be unpredictable to scripts, which a benchmark is not) and no UTF-8 re-checks.
const LOADGEN = { generateMask: (mask) => mask.fill(0), skipUTF8Validation: true, perMessageDeflate: false };
const CANDIDATE = `candidate:842163049 1 udp 1677729535 203.0.113.7 54321 typ srflx raddr 10.0.0.5 rport 54321 generation 0 ufrag EEtu network-id 3 network-cost 10 ${"x".repeat(520)}`;

/** The two protocols, behind one shape: connect (resolves when the server has accepted us), send(to, payload). */
const protocols = {
  parley: {
    server: [`${here}servers/parley-signal.mjs`],
    async connect(port, room) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`, LOADGEN);
      await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
      const welcome = await request(ws, { type: "hello", id: "h", version: 1 });
      if (room) await request(ws, { type: "join", id: "j", room });
      return {
        ws,
        id: welcome.sessionId,
        send: (to, payload) => ws.send(JSON.stringify({ type: "signal", room, to, kind: "candidate", payload })),
        // Acknowledges every 32nd message (`received`), as the Parley client does, so the server may forget what
        // was processed: a client that never acknowledges keeps a full outbox of 256 messages alive on the server.
        payloadOf: (msg) => {
          if (msg.seq % 32 === 0) ws.send(JSON.stringify({ type: "received", seq: msg.seq }));
          return msg.type === "signal" ? msg.payload : undefined;
        },
      };
    },
  },
  peerjs: {
    server: [`${here}servers/peerjs.mjs`],
    async connect(port) {
      const id = randomUUID();
      const ws = new WebSocket(`ws://127.0.0.1:${port}/peerjs?key=peerjs&id=${id}&token=${randomUUID()}`, LOADGEN);
      await new Promise((resolve, reject) => {
        ws.once("error", reject);
        ws.once("message", (d) => (JSON.parse(String(d)).type === "OPEN" ? resolve() : reject(new Error(String(d)))));
      });
      return {
        ws,
        id,
        send: (dst, payload) => ws.send(JSON.stringify({ type: "CANDIDATE", dst, payload })),
        payloadOf: (msg) => (msg.type === "CANDIDATE" ? msg.payload : undefined),
      };
    },
  },
};

function request(ws, msg) {
  return new Promise((resolve, reject) => {
    const onMessage = (d) => {
      const reply = JSON.parse(String(d));
      if (reply.re !== msg.id) return;
      ws.off("message", onMessage);
      if (reply.type === "error") reject(new Error(reply.message));
      else resolve(reply);
    };
    ws.on("message", onMessage);
    ws.send(JSON.stringify(msg));
  });
}

async function connectAll(proto, ports, n, roomFor) {
  const clients = [];
  for (let i = 0; i < n; i += 50) {
    const wave = Array.from({ length: Math.min(50, n - i) }, (_, k) =>
      proto.connect(ports[(i + k) % ports.length], roomFor(i + k)),
    );
    clients.push(...(await Promise.all(wave)));
  }
  return clients;
}

/** A redis-server as README asks for production (AOF, fsync on every write), on a free port. */
async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "parley-bench-redis-"));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""];
  const redis = await startServer(
    "redis-server",
    // BENCH_REDIS_FSYNC=everysec shows what fsync on every write costs.
    [...args, "--appendonly", "yes", "--appendfsync", process.env.BENCH_REDIS_FSYNC ?? "always"],
    /Ready to accept/,
  );
  return {
    ...redis,
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function measure(
  name,
  { nodes = 1, redis, clients: clientCount = CLIENTS, window = WINDOW, idle = IDLE, everyMs = 0 } = {},
) {
  const proto = protocols[name];
  // BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") goes to the server process, for profiling.
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  const ports = [];
  const servers = [];
  for (let i = 0; i < nodes; i++) {
    ports.push(await freePort());
    const env = redis ? { BENCH_REDIS: redis.url } : {};
    servers.push(
      await startServer(
        process.execPath,
        ["--expose-gc", ...nodeArgs, ...proto.server, String(ports[i])],
        /listening/,
        15_000,
        env,
      ),
    );
  }
  const server = servers[0];
  const serversCpu = () => servers.reduce((sum, s) => sum + cpuMicros(s.child.pid), 0);
  try {
    // Memory per idle connection, measured first on the fresh server: RSS before and after IDLE clients that only
    // connected (and said hello, for Parley), after a settling pause.
    await new Promise((r) => setTimeout(r, 300));
    const rss0 = await settledRssKiB(server);
    const idlers = await connectAll(proto, [ports[0]], idle, () => undefined);
    await new Promise((r) => setTimeout(r, 1000));
    const perIdleKiB = ((await settledRssKiB(server)) - rss0) / Math.max(idle, 1);
    for (const c of idlers) c.ws.terminate();
    // With two nodes, client i is on node i % 2: each pair's two members are on different nodes.
    const clients = await connectAll(proto, ports, clientCount, (i) => `pair-${i >> 1}`);
    const latencies = [];
    let delivered = 0;
    let running = true;
    const pacers = [];
    for (let i = 0; i < clients.length; i += 2) {
      const [a, b] = [clients[i], clients[i + 1]];
      const sendOne = () => a.send(b.id, { candidate: CANDIDATE, sdpMid: "0", t: performance.now() });
      b.ws.on("message", (d) => {
        const payload = b.payloadOf(JSON.parse(String(d)));
        if (!payload) return;
        delivered++;
        latencies.push(performance.now() - payload.t);
        if (running && !everyMs) sendOne();
      });
      // Closed loop (a new message as each arrives), or paced: one every `everyMs` (staggered across pairs).
      if (everyMs) setTimeout(() => pacers.push(setInterval(() => running && sendOne(), everyMs)), (i * 7) % everyMs);
      else for (let w = 0; w < window; w++) sendOne();
    }
    // Warm up 1 s, then measure.
    await new Promise((r) => setTimeout(r, 1000));
    const cpu0 = serversCpu();
    const redis0 = redis ? cpuMicros(redis.child.pid) : 0;
    const d0 = delivered;
    latencies.length = 0;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, DURATION * 1000));
    const seconds = (performance.now() - t0) / 1000;
    const count = delivered - d0;
    const cpu = serversCpu() - cpu0;
    const redisCpu = redis ? cpuMicros(redis.child.pid) - redis0 : 0;
    running = false;
    for (const p of pacers) clearInterval(p);
    latencies.sort((x, y) => x - y);
    const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
    for (const c of clients) c.ws.terminate();
    const frame = JSON.stringify({ candidate: CANDIDATE, sdpMid: "0", t: 0 }).length;
    const result = { rate: count / seconds, p50: pct(0.5), p99: pct(0.99), cpuPerMsg: cpu / count, perIdleKiB, frame };
    return redis ? { ...result, redisCpuPerMsg: redisCpu / count } : result;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

const fmt = (r) =>
  `${Math.round(r.rate)} msg/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ${r.cpuPerMsg.toFixed(1)} µs CPU/msg${r.redisCpuPerMsg === undefined ? "" : ` (+ Redis ${r.redisCpuPerMsg.toFixed(1)})`}, ${r.perIdleKiB.toFixed(1)} KiB/idle conn`;
// BENCH_ONLY=parley, =peerjs or =redis measures one setup alone (for profiling); the ratios need all.
const only = process.env.BENCH_ONLY;
const parley = only === "peerjs" || only === "redis" ? undefined : await measure("parley");
const peerjs = only === "parley" || only === "redis" ? undefined : await measure("peerjs");
// BENCH_REDIS=0 skips the Redis setups (a machine without redis-server). The latency of a cross-node hop is measured
// at light load (20 pairs, one message every 20 ms each), where a p99 says what a hop costs rather than how long the
// queues of a saturated server are; the in-memory node is measured the same way beside it.
let cluster;
const haveRedis = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
if (!haveRedis) console.error("signal-relay: no redis-server on PATH; the Redis setups are skipped");
if ((only === undefined || only === "redis") && process.env.BENCH_REDIS !== "0" && haveRedis) {
  const redis = await startRedis();
  // 20 pairs, each sending one message every 20 ms: 1,000 messages/s, far below what any setup carries.
  const light = { clients: 40, idle: 0, everyMs: 20 };
  try {
    cluster = {
      oneNode: await measure("parley", { redis }),
      twoNodes: await measure("parley", { redis, nodes: 2 }),
      lightMemory: await measure("parley", light),
      lightTwoNodes: await measure("parley", { redis, nodes: 2, ...light }),
    };
  } finally {
    // BENCH_REDIS_STATS=1: where Redis spent its time, per command (for profiling the scripts).
    if (process.env.BENCH_REDIS_STATS)
      console.error(
        spawnSync("redis-cli", ["-p", String(redis.port), "info", "commandstats"], { encoding: "utf8" }).stdout,
      );
    await redis.stop();
  }
}
const clusterLines = (c) =>
  `\n  Redis, 1 node: ${fmt(c.oneNode)}\n  Redis, 2 nodes (every message crosses): ${fmt(c.twoNodes)}` +
  `\n  light load (1,000 msg/s): in memory p50 ${c.lightMemory.p50.toFixed(2)} ms p99 ${c.lightMemory.p99.toFixed(2)} ms; ` +
  `2 nodes on Redis p50 ${c.lightTwoNodes.p50.toFixed(2)} ms p99 ${c.lightTwoNodes.p99.toFixed(2)} ms; ` +
  `a cross-node hop adds ${(c.lightTwoNodes.p99 - c.lightMemory.p99).toFixed(2)} ms at p99 (goal ≤ 2 ms)`;
if (!parley || !peerjs) {
  const [name, r] = parley ? ["Parley", parley] : peerjs ? ["PeerJS", peerjs] : ["Redis", undefined];
  const human = r ? `${name} ${fmt(r)} (alone: no ratio)` : "";
  report(
    "signal-relay",
    { only: name, ...(r ? { [name.toLowerCase()]: r } : {}), cluster },
    human + (cluster ? clusterLines(cluster) : ""),
  );
  process.exit(0);
}
report(
  "signal-relay",
  {
    clients: CLIENTS,
    window: WINDOW,
    seconds: DURATION,
    payloadBytes: parley.frame,
    parley,
    peerjs,
    ratio: {
      throughput: parley.rate / peerjs.rate,
      p99: parley.p99 / peerjs.p99,
      cpuPerMsg: parley.cpuPerMsg / peerjs.cpuPerMsg,
      memoryPerIdle: parley.perIdleKiB / peerjs.perIdleKiB,
    },
    ...(cluster ? { cluster } : {}),
  },
  `Parley ${fmt(parley)} | PeerJS ${fmt(peerjs)} | throughput ${(parley.rate / peerjs.rate).toFixed(2)}× (goal ≥ 1.5×), p99 ${(parley.p99 / peerjs.p99).toFixed(2)}× (goal ≤ 1×), CPU/msg ${(parley.cpuPerMsg / peerjs.cpuPerMsg).toFixed(2)}× (goal ≤ 1×), memory/idle ${(parley.perIdleKiB / peerjs.perIdleKiB).toFixed(2)}×${cluster ? clusterLines(cluster) : ""}`,
);
