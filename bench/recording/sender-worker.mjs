// Sends K members' worth of ~1 Mbps VP8 + Opus into a room, in real time: one ffmpeg encode is captured as RTP once
// and replayed to every member's tracks (rtp-source.mjs), so the load is K streams without K encoders. The K members
// join at once (a join storm). Prints "joined K in T ms", "ready" when all are in, "sent <video frames per member>".
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
    return { peer, tracks };
  }),
);
console.log(`joined ${k} in ${Math.round(performance.now() - joinStart)} ms`);
// Let every connection come up before media starts.
await new Promise((r) => setTimeout(r, 3000));
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
