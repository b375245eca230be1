#!/usr/bin/env node
// One bot of the soak (`pnpm soak`, test/soak/soak.soak.ts), in its own process so its growth is its own:
//
//   node soak-bot.mjs SIGNAL_URL NAME [RECORD_DIR]
//
// Joins room "soak", sends a chat message to the room every second, restarts ICE on every connection every
// SOAK_ICE_RESTART_MS (default 2 min), renews one connection (a new one in its place, the next member each time) every
// SOAK_RENEW_MS (default 5 min), records everyone when given a directory, and prints one JSON line of stats
// every SOAK_STATS_MS (default 10 s): RSS, heap, external memory, open file descriptors, active handles, messages,
// error events (a member whose chat stops for 10 s counts as one).
// SIGTERM finalizes the recordings and leaves.
import { readdirSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { getHeapSpaceStatistics } from "node:v8";
import { Peer, Recorder } from "@parley/peer";
import { diagnose, printDtlsFailures } from "./connection-diag.mjs";

const [url, name, recordDir] = process.argv.slice(2);
if (!url || !name) {
  console.error("usage: soak-bot.mjs SIGNAL_URL NAME [RECORD_DIR]");
  process.exit(2);
}
const iceRestartMs = Number(process.env.SOAK_ICE_RESTART_MS ?? 120_000);
const renewMs = Number(process.env.SOAK_RENEW_MS ?? 300_000);
const statsMs = Number(process.env.SOAK_STATS_MS ?? 10_000);

printDtlsFailures(name);
const counts = { sent: 0, received: 0, errors: 0, iceRestarts: 0, renewals: 0, renewed: 0, resumed: 0, replaced: 0 };
const rtc = { iceUseIpv6: false, iceAdditionalHostAddresses: ["127.0.0.1"] };
const peer = await Peer.connect(url, { rtc, signal: { reconnect: { initialDelayMs: 100, maxDelayMs: 1000 } } });
// Only the recorder takes video: eight video receivers per page would be sixteen VP8 encodes on two cores.
const room = await peer.join("soak", {
  metadata: { name },
  ...(recordDir ? {} : { receive: { audio: true, video: false } }),
});
await room.openChannel("chat");
const recorder = recordDir ? await Recorder.start(room, { dir: recordDir }) : undefined;

const fail = (what) => (err) => {
  counts.errors++;
  console.error(`${name}: ${what}: ${err?.message ?? err}`);
};
room.on("error", fail("room error"));
peer.on("error", fail("peer error"));
recorder?.on("error", fail("recorder error"));
recorder?.on("finalized", (file) => console.log(`finalized ${file.path}`));
// For diagnosis: every connection-state change with the time, so an error line can be read against its history.
room.on("connection-state", (member, state) =>
  console.log(`${name}: ${new Date().toISOString()} ${member.id} ${state}`),
);
room.on("member-renewed", () => counts.renewed++);
peer.on("resumed", () => counts.resumed++);
peer.on("session-replaced", () => counts.replaced++);
const lastChat = new Map();
room.on("message", (member, channel) => {
  if (channel.label !== "chat") return;
  counts.received++;
  lastChat.set(member.id, Date.now());
});

// A member whose chat stops while it stays in the room is a silent failure, worse than an error event: every member
// sends one message a second. Printed as an error (with what the connection says about itself) once per
// STALL_AFTER_MS of silence.
const STALL_AFTER_MS = 10_000;
const diagnosed = new Set();
const firstSeen = new Map();
const traced = new Set();
const stallCheck = setInterval(() => {
  const now = Date.now();
  for (const member of room.members.values()) {
    if (!lastChat.has(member.id)) lastChat.set(member.id, now); // first seen: its silence counts from now
    if (!firstSeen.has(member.id)) firstSeen.set(member.id, now);
    if (now - firstSeen.get(member.id) > 30_000 && !traced.has(member.id)) {
      traced.add(member.id);
      console.log(`${name}: trace ${member.id} ${JSON.stringify(member.pc.sctpTransport?.parleyTrace ?? [])}`);
    }
    const since = now - lastChat.get(member.id);
    if (since < STALL_AFTER_MS) continue;
    lastChat.set(member.id, now);
    const pc = member.pc;
    const channel = member.channel("chat");
    if (!diagnosed.has(member.id)) {
      diagnosed.add(member.id);
      console.log(`${name}: diag ${member.id} ${JSON.stringify(diagnose(pc))}`);
    }
    fail("chat stall")(
      `nothing from ${member.id} for ${(since / 1000).toFixed(0)} s (connection ${pc.connectionState}, ICE ` +
        `${pc.iceConnectionState}, signalling ${pc.signalingState}, channel ${channel?.readyState} with ` +
        `${channel?.bufferedAmount} bytes buffered)`,
    );
  }
}, 1000);

const chat = setInterval(() => {
  counts.sent++;
  room.send("chat", `${name} ${counts.sent}`).catch(fail("send"));
}, 1000);
const restarts = setInterval(() => {
  for (const member of room.members.values()) {
    member.restartIce();
    counts.iceRestarts++;
  }
}, iceRestartMs);
const renewals = setInterval(() => {
  const members = [...room.members.values()];
  if (members.length === 0) return;
  members[counts.renewals % members.length].renew();
  counts.renewals++;
}, renewMs);

// Event-loop delay: a bot whose loop stalls answers nothing in time (signals time out, ICE checks are late).
const lag = monitorEventLoopDelay({ resolution: 20 });
lag.enable();

// Compiled code, bytecode and their metadata (V8's code and trusted spaces): a path that runs once a minute (a
// reconnect, an ICE restart) is compiled and optimised over many minutes, which shows as slow heap growth that is not
// objects piling up. Reported apart so the rest of the heap can be judged alone.
const CODE_SPACES = /^(code|trusted)(_large_object)?_space$/;
const codeBytes = () =>
  getHeapSpaceStatistics()
    .filter((s) => CODE_SPACES.test(s.space_name))
    .reduce((sum, s) => sum + s.space_used_size, 0);

function stats() {
  // Settled figures: with --expose-gc (the soak starts bots with it) garbage is collected first, so growth is what
  // is still referenced, not what the collector has not reached yet.
  globalThis.gc?.();
  const memory = process.memoryUsage();
  const lagP99Ms = Math.round(lag.percentile(99) / 1e6);
  const lagMaxMs = Math.round(lag.max / 1e6);
  lag.reset();
  return {
    name,
    at: Date.now(),
    rss: memory.rss,
    heap: memory.heapUsed,
    heapTotal: memory.heapTotal,
    code: codeBytes(),
    // Buffers and ArrayBuffers live outside the JS heap: RTP, SRTP and recorder buffers show up here, not in `heap`.
    external: memory.external,
    arrayBuffers: memory.arrayBuffers,
    fds: readdirSync("/proc/self/fd").length,
    handles: process.getActiveResourcesInfo().length,
    members: room.members.size,
    lagP99Ms,
    lagMaxMs,
    ...counts,
  };
}
const report = setInterval(() => console.log(JSON.stringify({ stats: stats() })), statsMs);
console.log(`soak bot ${name} in room "soak" as ${peer.id}`);

let stopping = false;
process.on("SIGTERM", async () => {
  if (stopping) return;
  stopping = true;
  for (const timer of [chat, restarts, renewals, report, stallCheck]) clearInterval(timer);
  console.log(JSON.stringify({ stats: stats() }));
  await recorder?.stop(); // each file's "finalized" line is printed above
  await peer.close();
  process.exit(0);
});
