import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningProgram, startProgram } from "./programs.js";

/**
 * ffmpeg arguments that decode every frame of `path` and print only errors. The output keeps the file's own time base
 * (`-enc_time_base -1`, milliseconds for WebM): by default ffmpeg rounds video times to 1/frame rate on the way to the
 * null muxer, and two frames a camera captured 17 ms apart (30 fps, under load) land on one tick and are reported as
 * "non monotonically increasing dts" — an artefact of the check, not of the file (checked with a file ffmpeg wrote).
 */
export function decodeArgs(path: string): string[] {
  return ["-v", "error", "-i", path, "-enc_time_base", "-1", "-f", "null", "-"];
}

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
