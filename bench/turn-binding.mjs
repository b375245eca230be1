// STUN Binding request rate: Parley's server and coturn's turnserver under the same closed-loop load, same run.
// This is the foundation's benchmark; the TURN relay benchmark of issue #3 (ChannelData through allocations)
// builds on the same plumbing.
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { cpuMicros, freePort, report, rssKiB, startServer } from "./lib.mjs";

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const window = Number(process.env.BENCH_WINDOW ?? 32);
const benchDir = new URL(".", import.meta.url).pathname;

function bindingRequest(txid) {
  const msg = Buffer.alloc(20);
  msg.writeUInt16BE(0x0001, 0);
  msg.writeUInt32BE(0x2112a442, 4);
  txid.copy(msg, 8);
  return msg;
}

/** Keeps `window` requests outstanding for `seconds`, retransmitting none: a lost request is counted as lost. */
async function load(port) {
  const socket = createSocket("udp4");
  await new Promise((r) => socket.bind(0, "127.0.0.1", r));
  let answered = 0;
  let sent = 0;
  const rtts = [];
  const inflight = new Map();
  const send = () => {
    const txid = randomBytes(12);
    inflight.set(txid.toString("hex"), process.hrtime.bigint());
    sent++;
    socket.send(bindingRequest(txid), port, "127.0.0.1");
  };
  socket.on("message", (data) => {
    const key = data.subarray(8, 20).toString("hex");
    const t0 = inflight.get(key);
    if (t0 === undefined) return;
    inflight.delete(key);
    answered++;
    if (answered % 16 === 0) rtts.push(Number(process.hrtime.bigint() - t0) / 1000);
    if (running) send();
  });
  let running = true;
  for (let i = 0; i < window; i++) send();
  // A lost request would shrink the window for good; top it up every 50 ms.
  const topUp = setInterval(() => {
    const now = process.hrtime.bigint();
    for (const [key, t0] of inflight) {
      if (now - t0 > 200_000_000n) {
        inflight.delete(key);
        send();
      }
    }
  }, 50);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  running = false;
  clearInterval(topUp);
  socket.close();
  rtts.sort((a, b) => a - b);
  return {
    rps: Math.round(answered / seconds),
    lossPct: sent ? Number((((sent - answered - inflight.size) / sent) * 100).toFixed(3)) : 0,
    rttP50us: Math.round(rtts[Math.floor(rtts.length * 0.5)] ?? 0),
    rttP99us: Math.round(rtts[Math.floor(rtts.length * 0.99)] ?? 0),
  };
}

async function measure(name, start) {
  const port = await freePort();
  const server = await start(port);
  try {
    const cpu0 = cpuMicros(server.child.pid);
    const result = await load(port);
    const cpu = cpuMicros(server.child.pid) - cpu0;
    return {
      name,
      ...result,
      cpuUsPerRequest: Number((cpu / (result.rps * seconds)).toFixed(2)),
      rssKiB: rssKiB(server.child.pid),
    };
  } finally {
    await server.stop();
  }
}

const parley = await measure("parley", (port) =>
  startServer(process.execPath, [`${benchDir}servers/parley-turn.mjs`, String(port)], /listening/),
);
const coturn = await measure("coturn", (port) =>
  startServer(
    "turnserver",
    [
      "-n",
      "--no-cli",
      "--log-file=stdout",
      "--listening-ip=127.0.0.1",
      `--listening-port=${port}`,
      "--no-tcp",
      "--no-tls",
      "--no-dtls",
      "-m",
      "1",
    ],
    /Total General servers|IPv4. UDP listener opened|listener opened/,
  ),
);
const ratio = {
  throughput: Number((parley.rps / coturn.rps).toFixed(2)),
  cpuPerRequest: Number((parley.cpuUsPerRequest / coturn.cpuUsPerRequest).toFixed(2)),
};
report(
  "turn-binding",
  { seconds, window, parley, coturn, ratio },
  `Parley answers ${ratio.throughput}× coturn's Binding rate at ${ratio.cpuPerRequest}× its CPU per request (p99 RTT ${parley.rttP99us} µs vs ${coturn.rttP99us} µs)`,
);
