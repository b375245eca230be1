#!/usr/bin/env node
// 640×480 VP8 encode and decode frames per second per core: Parley's codec thread (libvpx in WebAssembly, as
// VideoSource and VideoStream use it) against ffmpeg's native libvpx on one thread, on the same frames in the same
// run. Per core = frames ÷ CPU seconds (all threads of the process; ffmpeg's own -benchmark times).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuSeconds, ffmpegCpu, report } from "./lib.mjs";

const { VideoCodec } = await import("../packages/peer/dist/media/video-codec.js");

const W = 640;
const H = 480;
const FRAMES = 300;
const FRAME_BYTES = (W * H * 3) / 2;
// The same moving test picture for both: ffmpeg's testsrc2 as raw I420.
const dir = mkdtempSync(join(tmpdir(), "parley-vp8-bench-"));
const raw = join(dir, "in.yuv");
execFileSync("ffmpeg", [
  "-v",
  "error",
  "-f",
  "lavfi",
  "-i",
  `testsrc2=size=${W}x${H}:rate=30:duration=${FRAMES / 30}`,
  "-pix_fmt",
  "yuv420p",
  "-f",
  "rawvideo",
  raw,
]);
const yuv = readFileSync(raw);
const frames = Array.from(
  { length: FRAMES },
  (_, i) => new Uint8Array(yuv.subarray(i * FRAME_BYTES, (i + 1) * FRAME_BYTES)),
);

// Parley encode (real-time settings, as VideoSource: cpu-used 8, no lag, 1 Mbps, a keyframe first).
const encoder = await VideoCodec.open("encoder");
const packets = [];
const enc = await cpuSeconds(async () => {
  for (let i = 0; i < FRAMES; i++) {
    const data = new Uint8Array(frames[i]);
    const reply = await encoder.send(
      {
        type: "encode",
        format: "i420",
        width: W,
        height: H,
        data,
        pts: i * 3000,
        keyframe: i === 0,
        bitrate: 1_000_000,
      },
      [data.buffer],
    );
    for (const p of reply.packets ?? []) packets.push(p.data);
  }
});
encoder.close();

// Parley decode of those packets, to I420 and to RGBA.
async function decodeAll(output) {
  const decoder = await VideoCodec.open("decoder");
  let ok = 0;
  const t = await cpuSeconds(async () => {
    for (const p of packets) {
      const data = new Uint8Array(p);
      const reply = await decoder.send({ type: "decode", data, output }, [data.buffer]);
      if (reply.decoded) ok++;
    }
  });
  decoder.close();
  return { ...t, ok };
}
const decI420 = await decodeAll("i420");
const decRgba = await decodeAll("rgba");

// ffmpeg, native libvpx on one thread: the same frames encoded with the same settings, then decoded.
const ivf = join(dir, "out.ivf");
const ffEnc = ffmpegCpu([
  "-f",
  "rawvideo",
  "-pix_fmt",
  "yuv420p",
  "-s",
  `${W}x${H}`,
  "-r",
  "30",
  "-i",
  raw,
  "-c:v",
  "libvpx",
  "-deadline",
  "realtime",
  "-cpu-used",
  "8",
  "-lag-in-frames",
  "0",
  "-b:v",
  "1M",
  "-y",
  ivf,
]);
const ffDec = ffmpegCpu(["-i", ivf, "-f", "null", "-"]);
rmSync(dir, { recursive: true, force: true });

const fps = (n, s) => Math.round(n / s);
const result = {
  size: `${W}x${H}`,
  frames: FRAMES,
  encodeFpsPerCore: fps(FRAMES, enc.cpu),
  ffmpegEncodeFpsPerCore: fps(FRAMES, ffEnc),
  decodeFpsPerCore: fps(decI420.ok, decI420.cpu),
  decodeRgbaFpsPerCore: fps(decRgba.ok, decRgba.cpu),
  ffmpegDecodeFpsPerCore: fps(FRAMES, ffDec),
  decodedEveryFrame: decI420.ok === packets.length && decRgba.ok === packets.length,
};
report(
  "vp8-per-core",
  result,
  `640×480 VP8 encode ${result.encodeFpsPerCore} fps/core (ffmpeg ${result.ffmpegEncodeFpsPerCore}, ratio ` +
    `${(result.encodeFpsPerCore / result.ffmpegEncodeFpsPerCore).toFixed(2)}); decode ${result.decodeFpsPerCore} fps/core to I420, ` +
    `${result.decodeRgbaFpsPerCore} to RGBA (ffmpeg ${result.ffmpegDecodeFpsPerCore}, ratio ` +
    `${(result.decodeFpsPerCore / result.ffmpegDecodeFpsPerCore).toFixed(2)}); every frame decoded: ${result.decodedEveryFrame}`,
);
process.exit(result.decodedEveryFrame ? 0 : 1);
