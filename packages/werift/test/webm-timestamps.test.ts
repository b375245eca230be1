// Recordings need strictly increasing block times per track whatever the network does: ffmpeg stops muxing a
// recorder's WebM with "non monotonically increasing dts to muxer in stream 0: 79 >= 79" when two blocks of a track
// share a time. werift's WebM writer is fed here, as @parley/peer's recorder feeds it, with frame times a network
// produces — duplicates, reordering, a backward jump, a wrap of the sender's clock — and ffprobe reads the file.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebmBase } from "@parley/werift/nonstandard";
import { describe, expect, it } from "vitest";
import { hasTool } from "../../../test/helpers/require-tool.js";

type Feed = Array<["audio" | "video", number, boolean?]>;

/** Writes a WebM from (kind, time ms, keyframe) frames and returns each stream's packet times, as ffprobe reads them. */
function record(feed: Feed): { video: number[]; audio: number[]; stats: Record<string, unknown> } {
  const chunks: Buffer[] = [];
  const webm = new WebmBase(
    [
      { kind: "video", codec: "VP8", clockRate: 90000, trackNumber: 1, width: 320, height: 240 },
      { kind: "audio", codec: "OPUS", clockRate: 48000, trackNumber: 2 },
    ],
    (out) => {
      if (out.saveToFile) chunks.push(out.saveToFile);
    },
  );
  webm.start();
  for (const [kind, time, isKeyframe = false] of feed) {
    // Audio is Opus's 20 ms silence frame, so ffprobe can read each packet's length; video bytes are not decoded.
    const data = kind === "video" ? Buffer.alloc(300, time % 251) : Buffer.from([0xf8, 0xff, 0xfe]);
    const frame = { data, isKeyframe, time };
    if (kind === "video") webm.processVideoInput({ frame });
    else webm.processAudioInput({ frame });
  }
  const file = join(mkdtempSync(join(tmpdir(), "parley-webm-")), "t.webm");
  writeFileSync(file, Buffer.concat(chunks));
  const csv = execFileSync(
    "ffprobe",
    ["-v", "error", "-show_entries", "packet=stream_index,pts", "-of", "csv=p=0", file],
    {
      encoding: "utf8",
    },
  );
  const times = { video: [] as number[], audio: [] as number[] };
  for (const line of csv.trim().split("\n")) {
    const [stream, pts] = line.split(",");
    (stream === "0" ? times.video : times.audio).push(Number(pts));
  }
  return { ...times, stats: webm.toJSON() };
}

const increasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]!);

/** 30 fps video and 20 ms audio from `start` for `ms`, with `edit` applied to the audio times. */
function stream(start: number, ms: number, edit: (t: number, i: number) => number = (t) => t): Feed {
  const feed: Feed = [];
  for (let t = 0; t < ms; t += 20) feed.push(["audio", edit(start + t, t / 20)]);
  for (let t = 0, i = 0; t < ms; t += 33, i++) feed.push(["video", start + t, i % 30 === 0]);
  return feed.sort((a, b) => a[1] - b[1]);
}

describe.skipIf(!hasTool("ffmpeg"))("WebM block times per track (Parley patch 13)", () => {
  it("stay strictly increasing when frames share a time (duplicate RTP timestamps)", () => {
    const feed = stream(1000, 2000);
    feed.push(["audio", 1500], ["audio", 1500], ["video", 1497], ["video", 1497]);
    const { video, audio } = record(feed.sort((a, b) => a[1] - b[1]));
    expect(increasing(video), `video ${video.join(",")}`).toBe(true);
    expect(increasing(audio), `audio ${audio.join(",")}`).toBe(true);
    expect(audio.length).toBeGreaterThanOrEqual(101); // the duplicates are kept, 1 ms apart, not dropped
  });

  it("stay strictly increasing when frames arrive out of order, dropping only those too late to place", () => {
    const feed = stream(0, 2000);
    // Swap neighbours throughout (jitter), and send one frame 400 ms late.
    for (let i = 2; i + 1 < feed.length; i += 7) [feed[i], feed[i + 1]] = [feed[i + 1]!, feed[i]!];
    feed.splice(60, 0, ["audio", 600]);
    const { video, audio, stats } = record(feed);
    expect(increasing(video)).toBe(true);
    expect(increasing(audio)).toBe(true);
    expect(stats.late_frame).toMatchObject({ count: expect.any(Number) });
  });

  it("follow on when the sender's clock jumps back (a restart, or a wrap of its RTP timestamp)", () => {
    const before = stream(5000, 1000);
    const after = stream(200, 1000); // the sender's clock is 4.8 s behind now
    const { video, audio } = record([...before, ...after]);
    expect(increasing(video)).toBe(true);
    expect(increasing(audio)).toBe(true);
    expect(audio.length).toBeGreaterThanOrEqual(95); // both seconds are in the file
    expect(audio.at(-1)! - audio[0]!).toBeGreaterThan(1900);
  });

  it("end, and the file is finalized, even when no video keyframe ever came", () => {
    const outputs: string[] = [];
    const webm = new WebmBase(
      [
        { kind: "video", codec: "VP8", clockRate: 90000, trackNumber: 1, width: 320, height: 240 },
        { kind: "audio", codec: "OPUS", clockRate: 48000, trackNumber: 2 },
      ],
      (out) => outputs.push(out.eol ? `eol ${out.eol.duration}` : (out.kind ?? "?")),
    );
    webm.start();
    for (let t = 0; t < 1000; t += 20) {
      webm.processAudioInput({ frame: { data: Buffer.from([0xf8, 0xff, 0xfe]), isKeyframe: true, time: t } });
      if (t % 40 === 0) webm.processVideoInput({ frame: { data: Buffer.alloc(100), isKeyframe: false, time: t } });
    }
    webm.processAudioInput({ eol: true });
    webm.processVideoInput({ eol: true });
    expect(webm.stopped).toBe(true);
    expect(outputs.at(-1)).toMatch(/^eol 9\d\d$/);
  });
});
