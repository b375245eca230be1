// Sends K members' worth of ~1 Mbps VP8 + Opus into a room, in real time: one ffmpeg encode is captured as RTP once
// and replayed to every member's tracks (rtp-source.mjs), so the load is K streams without K encoders. Prints "ready"
// when all members are in, "sent <video frames per member>" at the end.
// Usage: node sender-worker.mjs SIGNAL_URL ROOM K SECONDS
import { Peer } from "@parley/peer";
import { MediaStreamTrack } from "@parley/werift";
import { encodeOnce, replay } from "./rtp-source.mjs";

const [url, room, k, seconds] = [process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
const source = await encodeOnce();

const members = [];
for (let i = 0; i < k; i++) {
  const peer = await Peer.connect(url, { rtc: { iceUseIpv6: false, iceAdditionalHostAddresses: ["127.0.0.1"] } });
  const joined = await peer.join(`${room}-${i}`, { receive: { audio: false, video: false } });
  const tracks = { video: new MediaStreamTrack({ kind: "video" }), audio: new MediaStreamTrack({ kind: "audio" }) };
  joined.addTrack(tracks.video);
  joined.addTrack(tracks.audio);
  members.push({ peer, tracks });
}
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
