// The process under test: one Parley bot recording every member of a room. Prints "ready", then at the end, per
// member, "file <path> <video frames that arrived while its file was open>"; room errors (a member that cannot
// connect, with the reason) on stderr, and with BENCH_TRACE=1 every member's state changes.
// Each sender member is in a room of its own (ROOM-0 … ROOM-(K-1)), so senders do not mesh with each other; this
// one process joins all K rooms and records them.
// Usage: node recorder-worker.mjs SIGNAL_URL ROOM K DIR   (a line on stdin stops it)
import { onFrames, Peer, Recorder } from "@parley/peer";

const [url, room, k, dir] = process.argv.slice(2);
const peer = await Peer.connect(url, { rtc: { iceUseIpv6: false, iceAdditionalHostAddresses: ["127.0.0.1"] } });
const recorders = [];
// Frames that arrived while each member's file was open, to tell loss on the way in from loss in the recorder.
const arrived = new Map();
const recording = new Set();
let stopping = false;
for (let i = 0; i < Number(k); i++) {
  const joined = await peer.join(`${room}-${i}`);
  // Lip-sync off: the sender replays one capture, so its audio and video clocks have no real relation (see README).
  const recorder = await Recorder.start(joined, { dir, lipSync: false });
  recorders.push(recorder);
  // A member that cannot connect is reported by the room with the reason; the bench shows it beside the count.
  joined.on("error", (err) => console.error(`room ${i}: ${err.code} ${err.message}`));
  if (process.env.BENCH_TRACE) trace(joined, i);
  joined.on("track", (member, track) => {
    if (track.kind !== "video") return;
    arrived.set(member.id, 0);
    // Counted from the first keyframe after the file opened (a WebM file starts at a keyframe) until stop is asked.
    let counting = false;
    const start = () =>
      onFrames(track, (frame) => {
        if (!counting && recording.has(member.id) && frame.isKeyframe) counting = true;
        if (counting && !stopping) arrived.set(member.id, arrived.get(member.id) + 1);
      });
    if (track.codec) start();
    else track.onReceiveRtp.once(start);
  });
  recorder.on("started", (f) => recording.add(f.memberId));
  recorder.on("finalized", (f) => console.log(`file ${f.path} ${arrived.get(f.memberId) ?? 0}`));
}
console.log("ready");

/** BENCH_TRACE=1: each member's signalling, ICE and connection states, in ms since this process started. */
function trace(room, i) {
  const say = (what) => console.error(`trace ${i} ${Math.round(performance.now())} ${what}`);
  room.on("connection-state", (_member, state) => say(`connection ${state}`));
  room.on("member-joined", (member) => {
    say("joined");
    member.pc.iceConnectionStateChange.subscribe((state) => say(`ice ${state}`));
    member.pc.signalingStateChange.subscribe((state) => say(`signalling ${state}`));
  });
}
process.stdin.on("data", async () => {
  stopping = true;
  await Promise.all(recorders.map((r) => r.stop()));
  console.log("stopped");
  await peer.close();
  process.exit(0);
});
