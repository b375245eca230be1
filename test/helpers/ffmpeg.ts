import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningProgram, startProgram } from "./programs.js";

/** ffmpeg producing a test picture as VP8 and a tone as Opus, each to a local RTP port, in real time. */
export function ffmpegRtp(videoPort: number, audioPort: number, size = "320x240"): Promise<RunningProgram> {
  return startProgram({
    name: "ffmpeg",
    command: "ffmpeg",
    args: [
      ...["-hide_banner", "-loglevel", "error", "-re"],
      ...["-f", "lavfi", "-i", `testsrc=size=${size}:rate=30`],
      ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"],
      ...["-map", "0:v", "-c:v", "libvpx", "-deadline", "realtime", "-b:v", "400k", "-g", "30"],
      ...["-f", "rtp", `rtp://127.0.0.1:${videoPort}?pkt_size=1200`],
      ...["-map", "1:a", "-c:a", "libopus", "-ac", "2", "-b:a", "48k"],
      ...["-f", "rtp", `rtp://127.0.0.1:${audioPort}?pkt_size=1200`],
    ],
  });
}

/** A short WebM (VP8 + Opus) made by ffmpeg, for playback tests. */
export function makeWebm(seconds: number, size = "320x240"): string {
  const path = join(mkdtempSync(join(tmpdir(), "parley-media-")), "clip.webm");
  execFileSync("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error"],
    ...["-f", "lavfi", "-i", `testsrc=size=${size}:rate=30:duration=${seconds}`],
    ...["-f", "lavfi", "-i", `sine=frequency=330:sample_rate=48000:duration=${seconds}`],
    ...["-c:v", "libvpx", "-deadline", "realtime", "-b:v", "300k", "-c:a", "libopus", path],
  ]);
  return path;
}
