// Sends K members' worth of ~1 Mbps VP8 + Opus into a room, in real time: one ffmpeg encode is captured as RTP once
// and replayed to every member's tracks (rtp-source.mjs), so the load is K streams without K encoders. The K members
// join at once (a join storm). Prints "joined K in T ms", "connected N of K in T ms" when every connection is up
// (or 20 s have passed), "ready", "sent <video frames per member>".
// Usage: node sender-worker.mjs SIGNAL_URL ROOM K SECONDS
import { Peer } from "@parley/peer";
import { MediaStreamTrack } from "@parley/werift";
import { encodeOnce, replay } from "./rtp-source.mjs";

const [url, room, k, seconds] = [process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
const source = await encodeOnce();

// A join storm: every member connects and joins at once, as a class or a webinar starting on the hour does.
const joinStart = performance.now();
const members = await Promise.all(
  Array.from({ length: k }, async (_, i) => {
    const peer = await Peer.connect(url, { rtc: { iceUseIpv6: false, iceAdditionalHostAddresses: ["127.0.0.1"] } });
    const joined = await peer.join(`${room}-${i}`, { receive: { audio: false, video: false } });
    const tracks = { video: new MediaStreamTrack({ kind: "video" }), audio: new MediaStreamTrack({ kind: "audio" }) };
    joined.addTrack(tracks.video);
    joined.addTrack(tracks.audio);
    joined.on("error", (err) => console.error(`member ${i}: ${err.code} ${err.message}`));
    return { peer, room: joined, tracks };
  }),
);
console.log(`joined ${k} in ${Math.round(performance.now() - joinStart)} ms`);
// Media starts when every connection is up (or after CONNECT_WAIT_MS: a member still down then is counted by the
// bench as never connected), so what is measured is recording, not the order connections happened to finish in.
const CONNECT_WAIT_MS = 20_000;
const connected = (room) => [...room.members.values()].some((m) => m.connectionState === "connected");
await Promise.all(
  members.map(
    ({ room }) =>
      new Promise((resolve) => {
        if (connected(room)) return resolve();
        const timer = setTimeout(resolve, CONNECT_WAIT_MS);
        const check = () => {
          if (!connected(room)) return;
          clearTimeout(timer);
          room.off("connection-state", check);
          resolve();
        };
        room.on("connection-state", check);
      }),
  ),
);
const up = members.filter(({ room }) => connected(room)).length;
console.log(`connected ${up} of ${k} in ${Math.round(performance.now() - joinStart)} ms`);
console.log("ready");
const sent = await replay(
  source,
  members.map((m) => m.tracks),
  seconds,
);
await new Promise((r) => setTimeout(r, 300));
console.log(`sent ${sent}`);
for (const m of members) await m.peer.close();
process.exit(0);
