// ~1 Mbps VP8 + Opus for benchmarks without one encoder per stream: ffmpeg encodes 4 s once, captured as RTP, and
// replay() writes it to any number of tracks in real time (fresh sequence numbers and timestamps per loop).
import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { RtpPacket } from "@parley/werift";

const LOOP_MS = 4000;

async function capture(kind) {
  const socket = createSocket("udp4");
  const packets = [];
  const t0 = performance.now();
  socket.on("message", (d) => packets.push({ at: performance.now() - t0, packet: RtpPacket.deSerialize(d) }));
  await new Promise((r) => socket.bind(0, "127.0.0.1", r));
  return { socket, packets, kind };
}

/** Encodes 4 s of 640×480 VP8 at 1 Mbps and Opus at 32 kbit/s; returns the RTP of each, with arrival times. */
export async function encodeOnce() {
  const [video, audio] = [await capture("video"), await capture("audio")];
  const ffmpeg = spawn(
    "ffmpeg",
    [
      ...["-hide_banner", "-loglevel", "error", "-re"],
      ...["-f", "lavfi", "-i", "testsrc2=size=640x480:rate=30:duration=4"],
      ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=4"],
      ...["-map", "0:v", "-c:v", "libvpx", "-deadline", "realtime"],
      ...["-b:v", "1M", "-minrate", "1M", "-maxrate", "1M", "-g", "60"],
      ...["-f", "rtp", `rtp://127.0.0.1:${video.socket.address().port}?pkt_size=1200`],
      ...["-map", "1:a", "-c:a", "libopus", "-b:a", "32k"],
      ...["-f", "rtp", `rtp://127.0.0.1:${audio.socket.address().port}?pkt_size=1200`],
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  await new Promise((r) => ffmpeg.on("exit", r));
  video.socket.close();
  audio.socket.close();
  return {
    video,
    audio,
    /** Video frames in one 4 s loop. */
    videoFrames: new Set(video.packets.map((p) => p.packet.header.timestamp)).size,
    loopMs: LOOP_MS,
  };
}

/**
 * Writes the encoded media to every target's tracks for `seconds`, paced by the capture's arrival times. Resolves when
 * the last packet is written; returns the video frames each target was sent.
 */
export async function replay(source, targets, seconds) {
  const loops = Math.ceil((seconds * 1000) / LOOP_MS);
  const start = performance.now();
  for (let loop = 0; loop < loops; loop++) {
    for (const stream of [source.video, source.audio]) {
      for (const { at, packet } of stream.packets) {
        const due = start + loop * LOOP_MS + at;
        setTimeout(
          () => {
            for (const tracks of targets) {
              const copy = packet.clone();
              copy.header.sequenceNumber = (packet.header.sequenceNumber + loop * stream.packets.length) & 0xffff;
              copy.header.timestamp =
                (packet.header.timestamp + loop * LOOP_MS * (stream.kind === "video" ? 90 : 48)) >>> 0;
              tracks[stream.kind].writeRtp(copy);
            }
          },
          Math.max(0, due - performance.now()),
        );
      }
    }
  }
  await new Promise((r) => setTimeout(r, loops * LOOP_MS + 200));
  return source.videoFrames * loops;
}
