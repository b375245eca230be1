#!/usr/bin/env node
// Opus decodes and encodes per core: Parley's AudioStream (RTP → order → libopus → 20 ms frames) and AudioSource (PCM
// → libopus → RTP, paced by its clock), many at once in real time in one process, against ffmpeg doing the same
// decode and encode (libopus, one thread) in the same run. Streams per core = streams ÷ the share of a core used.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AudioSource, AudioStream } from "@parley/peer";
import { MediaStreamTrack, RtpHeader, RtpPacket } from "@parley/werift";
import { cpuSeconds, ffmpegCpu, report } from "./lib.mjs";

const SECONDS = 5;
const STREAMS = Number(process.env.OPUS_STREAMS ?? 100);
const RATE = 48_000;
const BITRATE = 64_000;

/** Stereo "music": three tones and a little noise, so the encoder has real work (silence is nearly free). */
function music(seconds) {
  const n = seconds * RATE;
  const pcm = new Int16Array(n * 2);
  for (let i = 0; i < n; i++) {
    const t = i / RATE;
    const v =
      0.2 * Math.sin(2 * Math.PI * 220 * t) +
      0.1 * Math.sin(2 * Math.PI * 660 * t) +
      0.05 * Math.sin(2 * Math.PI * 3300 * t);
    pcm[2 * i] = Math.round(32767 * (v + 0.02 * (Math.random() - 0.5)));
    pcm[2 * i + 1] = Math.round(32767 * (v * 0.8 + 0.02 * (Math.random() - 0.5)));
  }
  return pcm;
}

/** Share of one core this process used while `run` ran (CPU time over wall time). */
async function coreShare(run) {
  const { cpu, wall } = await cpuSeconds(run);
  return cpu / wall;
}

const pcm = music(SECONDS);
const dir = mkdtempSync(join(tmpdir(), "parley-opus-bench-"));
const raw = join(dir, "music.s16");
writeFileSync(raw, Buffer.from(pcm.buffer));

// Parley decode: STREAMS tracks, each receiving one 20 ms packet every 20 ms, for SECONDS. The packets come from
// libopus with AudioSource's settings, frame by frame.
const { OpusEncoder } = await import("../packages/peer/dist/media/opus.js");
const encoder = new OpusEncoder(RATE, 2, BITRATE, "audio");
const packets = [];
for (let at = 0; at + 1920 <= pcm.length; at += 1920) packets.push(encoder.encode(pcm.subarray(at, at + 1920)));

const tracks = Array.from({ length: STREAMS }, () => new MediaStreamTrack({ kind: "audio" }));
const streams = tracks.map((t) => new AudioStream(t));
const produced = streams.map(() => 0);
streams.forEach((s, i) => {
  void (async () => {
    for await (const _ of s) produced[i]++;
  })();
});
const decodeShare = await coreShare(
  () =>
    new Promise((resolve) => {
      let n = 0;
      const started = performance.now();
      const tick = () => {
        const due = Math.min(packets.length, Math.floor((performance.now() - started) / 20) + 1);
        for (; n < due; n++) {
          tracks.forEach((track, i) => {
            const header = new RtpHeader({ payloadType: 111, sequenceNumber: n, timestamp: n * 960, ssrc: i + 1 });
            track.onReceiveRtp.execute(new RtpPacket(header, packets[n]));
          });
        }
        if (n < packets.length) setTimeout(tick, Math.max(0, started + n * 20 - performance.now()));
        else resolve();
      };
      tick();
    }),
);
for (const s of streams) s.close();
await new Promise((r) => setTimeout(r, 50));
const complete = produced.every((p) => p === packets.length);

// Parley encode: STREAMS sources, each fed 20 ms of PCM as its clock takes it, for SECONDS.
const sources = Array.from(
  { length: STREAMS },
  () => new AudioSource({ channels: 2, bitrate: BITRATE, application: "audio" }),
);
const encodeShare = await coreShare(() =>
  Promise.all(
    sources.map(async (s) => {
      for (let at = 0; at < pcm.length; at += 1920) await s.write(pcm.subarray(at, at + 1920));
      while (s.queuedMs > 0) await new Promise((r) => setTimeout(r, 20));
    }),
  ),
);
const sent = Math.min(...sources.map((s) => s.stats.frames));
for (const s of sources) s.close();

// ffmpeg: the same decode and encode, timed by its own -benchmark (CPU seconds for SECONDS of audio).
const ogg = join(dir, "music.ogg");
// The same raw PCM and the same encoder settings as AudioSource above (stereo, 64 kb/s, 20 ms, "audio").
const rawIn = ["-f", "s16le", "-ar", "48000", "-ac", "2", "-i", raw];
const opusOut = ["-c:a", "libopus", "-b:a", "64k", "-frame_duration", "20", "-application", "audio"];
execFileSync("ffmpeg", ["-v", "error", ...rawIn, ...opusOut, ogg]);
const loops = 20;
const loop = ["-stream_loop", String(loops - 1)];
const ffDecode = ffmpegCpu([...loop, "-i", ogg, "-f", "s16le", "-y", "/dev/null"]) / loops;
const ffEncode = ffmpegCpu([...loop, ...rawIn, ...opusOut, "-f", "null", "-"]) / loops;
rmSync(dir, { recursive: true, force: true });

const perCore = (share) => Math.round(STREAMS / share);
const ffPerCore = (cpuSeconds) => Math.round(SECONDS / cpuSeconds);
const result = {
  streams: STREAMS,
  decodePerCore: perCore(decodeShare),
  decodeCoreShare: Number(decodeShare.toFixed(3)),
  decodedEveryFrame: complete,
  ffmpegDecodePerCore: ffPerCore(ffDecode),
  encodePerCore: perCore(encodeShare),
  encodeCoreShare: Number(encodeShare.toFixed(3)),
  framesSentPerSource: sent,
  ffmpegEncodePerCore: ffPerCore(ffEncode),
};
report(
  "opus-per-core",
  result,
  `${STREAMS} real-time 48 kHz stereo decodes used ${(decodeShare * 100).toFixed(0)} % of a core → ${result.decodePerCore}/core ` +
    `(ffmpeg ${result.ffmpegDecodePerCore}/core, ratio ${(result.decodePerCore / result.ffmpegDecodePerCore).toFixed(2)}; every frame: ${complete}); ` +
    `${STREAMS} encodes ${(encodeShare * 100).toFixed(0)} % → ${result.encodePerCore}/core ` +
    `(ffmpeg ${result.ffmpegEncodePerCore}/core, ratio ${(result.encodePerCore / result.ffmpegEncodePerCore).toFixed(2)})`,
);
process.exit(complete && result.decodePerCore >= 100 ? 0 : 1);
