#!/usr/bin/env node
// Signalling relay benchmark: N clients in pairs; each sender keeps WINDOW ~700-byte candidate-like messages in
// flight to its partner (closed loop: a new one as each arrives), for DURATION seconds, through Parley's server and
// through the PeerJS server, each in its own process, in the same run. Reports delivered messages/s, p50/p99
// latency, server CPU µs per message, and server RSS per idle connection. The load generator is the same raw `ws`
// code for both, so only the servers differ.
import { randomUUID } from "node:crypto";
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
        payloadOf: (msg) => (msg.type === "signal" ? msg.payload : undefined),
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

async function connectAll(proto, port, n, roomFor) {
  const clients = [];
  for (let i = 0; i < n; i += 50) {
    const wave = Array.from({ length: Math.min(50, n - i) }, (_, k) => proto.connect(port, roomFor(i + k)));
    clients.push(...(await Promise.all(wave)));
  }
  return clients;
}

async function measure(name) {
  const proto = protocols[name];
  const port = await freePort();
  // BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") goes to the server process, for profiling.
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  const server = await startServer(
    process.execPath,
    ["--expose-gc", ...nodeArgs, ...proto.server, String(port)],
    /listening/,
  );
  try {
    // Memory per idle connection, measured first on the fresh server: RSS before and after IDLE clients that only
    // connected (and said hello, for Parley), after a settling pause.
    await new Promise((r) => setTimeout(r, 300));
    const rss0 = await settledRssKiB(server);
    const idle = await connectAll(proto, port, IDLE, () => undefined);
    await new Promise((r) => setTimeout(r, 1000));
    const perIdleKiB = ((await settledRssKiB(server)) - rss0) / IDLE;
    for (const c of idle) c.ws.terminate();
    const clients = await connectAll(proto, port, CLIENTS, (i) => `pair-${i >> 1}`);
    const latencies = [];
    let delivered = 0;
    let running = true;
    for (let i = 0; i < clients.length; i += 2) {
      const [a, b] = [clients[i], clients[i + 1]];
      const sendOne = () => a.send(b.id, { candidate: CANDIDATE, sdpMid: "0", t: performance.now() });
      b.ws.on("message", (d) => {
        const payload = b.payloadOf(JSON.parse(String(d)));
        if (!payload) return;
        delivered++;
        latencies.push(performance.now() - payload.t);
        if (running) sendOne();
      });
      for (let w = 0; w < WINDOW; w++) sendOne();
    }
    // Warm up 1 s, then measure.
    await new Promise((r) => setTimeout(r, 1000));
    const cpu0 = cpuMicros(server.child.pid);
    const d0 = delivered;
    latencies.length = 0;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, DURATION * 1000));
    const seconds = (performance.now() - t0) / 1000;
    const count = delivered - d0;
    const cpu = cpuMicros(server.child.pid) - cpu0;
    running = false;
    latencies.sort((x, y) => x - y);
    const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
    for (const c of clients) c.ws.terminate();
    const frame = JSON.stringify({ candidate: CANDIDATE, sdpMid: "0", t: 0 }).length;
    return { rate: count / seconds, p50: pct(0.5), p99: pct(0.99), cpuPerMsg: cpu / count, perIdleKiB, frame };
  } finally {
    await server.stop();
  }
}

const fmt = (r) =>
  `${Math.round(r.rate)} msg/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ${r.cpuPerMsg.toFixed(1)} µs CPU/msg, ${r.perIdleKiB.toFixed(1)} KiB/idle conn`;
// BENCH_ONLY=parley or =peerjs measures one server alone (for profiling); the ratio needs both.
const only = process.env.BENCH_ONLY;
const parley = only === "peerjs" ? undefined : await measure("parley");
const peerjs = only === "parley" ? undefined : await measure("peerjs");
if (!parley || !peerjs) {
  const [name, r] = parley ? ["Parley", parley] : ["PeerJS", peerjs];
  report("signal-relay", { only: name, [name.toLowerCase()]: r }, `${name} ${fmt(r)} (alone: no ratio)`);
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
  },
  `Parley ${fmt(parley)} | PeerJS ${fmt(peerjs)} | throughput ${(parley.rate / peerjs.rate).toFixed(2)}× (goal ≥ 1.5×), p99 ${(parley.p99 / peerjs.p99).toFixed(2)}× (goal ≤ 1×), memory/idle ${(parley.perIdleKiB / peerjs.perIdleKiB).toFixed(2)}×`,
);
