// Sends K members' worth of ~1 Mbps VP8 + Opus into a room, in real time: one ffmpeg encode is captured as RTP once
// and replayed (fresh sequence numbers and timestamps per loop) to every member's tracks, so the load is K streams
// without K encoders. Prints "ready" when all members are in, "sent <video frames per member>" at the end.
// Usage: node sender-worker.mjs SIGNAL_URL ROOM K SECONDS
import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { Peer } from "@parley/peer";
import { MediaStreamTrack, RtpPacket } from "@parley/werift";

const [url, room, k, seconds] = [process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5])];

async function capture(kind, port) {
  const socket = createSocket("udp4");
  const packets = [];
  const t0 = performance.now();
  socket.on("message", (d) => packets.push({ at: performance.now() - t0, packet: RtpPacket.deSerialize(d) }));
  await new Promise((r) => socket.bind(port, "127.0.0.1", r));
  return { socket, packets, kind };
}
const [video, audio] = [await capture("video", 0), await capture("audio", 0)];
const ffmpeg = spawn(
  "ffmpeg",
  [
    ...["-hide_banner", "-loglevel", "error", "-re"],
    ...[
      "-f",
      "lavfi",
      "-i",
      "testsrc2=size=640x480:rate=30:duration=4",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=440:sample_rate=48000:duration=4",
    ],
    ...[
      "-map",
      "0:v",
      "-c:v",
      "libvpx",
      "-deadline",
      "realtime",
      "-b:v",
      "1M",
      "-minrate",
      "1M",
      "-maxrate",
      "1M",
      "-g",
      "60",
    ],
    ...["-f", "rtp", `rtp://127.0.0.1:${video.socket.address().port}?pkt_size=1200`],
    ...[
      "-map",
      "1:a",
      "-c:a",
      "libopus",
      "-b:a",
      "32k",
      "-f",
      "rtp",
      `rtp://127.0.0.1:${audio.socket.address().port}?pkt_size=1200`,
    ],
  ],
  { stdio: ["ignore", "ignore", "inherit"] },
);
await new Promise((r) => ffmpeg.on("exit", r));
video.socket.close();
audio.socket.close();
const loopMs = 4000;
const videoFrames = new Set(video.packets.map((p) => p.packet.header.timestamp)).size;

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

const loops = Math.ceil((seconds * 1000) / loopMs);
const start = performance.now();
for (let loop = 0; loop < loops; loop++) {
  for (const source of [video, audio]) {
    for (const { at, packet } of source.packets) {
      const due = start + loop * loopMs + at;
      setTimeout(
        () => {
          for (const m of members) {
            const copy = packet.clone();
            copy.header.sequenceNumber = (packet.header.sequenceNumber + loop * source.packets.length) & 0xffff;
            copy.header.timestamp =
              (packet.header.timestamp + loop * loopMs * (source.kind === "video" ? 90 : 48)) >>> 0;
            m.tracks[source.kind].writeRtp(copy);
          }
        },
        Math.max(0, due - performance.now()),
      );
    }
  }
}
await new Promise((r) => setTimeout(r, loops * loopMs + 500));
console.log(`sent ${videoFrames * loops}`);
for (const m of members) await m.peer.close();
process.exit(0);
