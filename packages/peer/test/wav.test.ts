import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hasTool } from "../../../test/helpers/require-tool.js";
import { firstChannel, joinSamples, peak, sine } from "../../../test/helpers/tone.js";
import { WavReader, WavWriter } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "parley-wav-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readAll(path: string) {
  const wav = await WavReader.open(path);
  const parts: Int16Array[] = [];
  for await (const chunk of wav.samples()) parts.push(chunk);
  return { wav, samples: joinSamples(parts) };
}

function riffChunk(id: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.write(id, 0, "ascii");
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

function riff(...chunks: Buffer[]): Buffer {
  return riffChunk("RIFF", Buffer.concat([Buffer.from("WAVE"), ...chunks]));
}

function ffmpeg(...args: string[]): void {
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args]);
}

describe.skipIf(!hasTool("ffmpeg"))("WAV files", () => {
  it("writes a WAV that ffprobe reads as 16 kHz mono 16-bit, 1.5 s long", async () => {
    const path = join(dir, "out.wav");
    const w = await WavWriter.create(path, 16_000, 1);
    const tone = sine(440, 1.5, 16_000);
    for (let at = 0; at < tone.length; at += 320) await w.write(tone.subarray(at, at + 320));
    await w.close();
    const probe = JSON.parse(
      execFileSync("ffprobe", ["-v", "error", "-show_streams", "-show_format", "-of", "json", path]).toString(),
    );
    expect(probe.streams[0]).toMatchObject({ codec_name: "pcm_s16le", sample_rate: "16000", channels: 1 });
    expect(Number(probe.format.duration)).toBeCloseTo(1.5, 3);
    expect((await readAll(path)).samples).toEqual(tone);
  });

  it("leaves a playable file when the writer never closes: the header is rewritten every second", async () => {
    const path = join(dir, "unclosed.wav");
    const w = await WavWriter.create(path, 8000, 1);
    await w.write(sine(440, 2.5, 8000));
    await w.write(sine(440, 0.5, 8000));
    const { wav } = await readAll(path);
    // The header was last rewritten after the first write: the second is within the second that may be lost.
    expect(wav.durationMs).toBe(2500);
    expect(readFileSync(path).readUInt32LE(40)).toBe(2.5 * 8000 * 2);
  });

  it("reads ffmpeg's 44.1 kHz stereo WAV (with its LIST chunk before the data) and WAVE_FORMAT_EXTENSIBLE", async () => {
    const path = join(dir, "ffmpeg.wav");
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=700:duration=1:sample_rate=44100", "-ac", "2", path);
    const { wav, samples } = await readAll(path);
    expect(wav).toMatchObject({ sampleRate: 44_100, channels: 2, dataBytes: 44_100 * 4 });
    expect(Math.abs(peak(firstChannel(samples, 2), 44_100).hz - 700)).toBeLessThan(2);
    // WAVE_FORMAT_EXTENSIBLE: a 40-byte fmt chunk whose sub-format GUID starts with the PCM tag.
    const pcm = Buffer.from(sine(300, 0.25, 24_000).buffer);
    const fmt = Buffer.alloc(40);
    fmt.writeUInt16LE(0xfffe, 0);
    fmt.writeUInt16LE(1, 2);
    fmt.writeUInt32LE(24_000, 4);
    fmt.writeUInt32LE(48_000, 8);
    fmt.writeUInt16LE(2, 12);
    fmt.writeUInt16LE(16, 14);
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(1, 24);
    const ext = join(dir, "extensible.wav");
    writeFileSync(ext, riff(riffChunk("fmt ", fmt), riffChunk("data", pcm)));
    const extensible = await readAll(ext);
    expect(extensible.wav).toMatchObject({ sampleRate: 24_000, channels: 1, durationMs: 250 });
    expect(extensible.samples.length).toBe(6000);
    execFileSync("ffprobe", ["-v", "error", ext]);
  });

  it("refuses what it cannot play with the reason: not RIFF, 24-bit, float, 3 channels, cut short, data first", async () => {
    const cases: Array<[string, () => void, RegExp]> = [
      ["text.wav", () => writeFileSync(join(dir, "text.wav"), "hello, not audio"), /not a WAV file/],
      [
        "s24.wav",
        () => ffmpeg("-f", "lavfi", "-i", "sine=duration=0.1", "-c:a", "pcm_s24le", join(dir, "s24.wav")),
        /24-bit PCM; 16-bit PCM is supported/,
      ],
      [
        "f32.wav",
        () => ffmpeg("-f", "lavfi", "-i", "sine=duration=0.1", "-c:a", "pcm_f32le", join(dir, "f32.wav")),
        /format 3/,
      ],
      [
        "3ch.wav",
        () => ffmpeg("-f", "lavfi", "-i", "sine=duration=0.1", "-ac", "3", join(dir, "3ch.wav")),
        /3 channels/,
      ],
      [
        "cut.wav",
        () => writeFileSync(join(dir, "cut.wav"), readFileSync(join(dir, "out.wav")).subarray(0, 30)),
        /fmt chunk of|no data chunk/,
      ],
      ["missing.wav", () => {}, /cannot open/],
      [
        "data-first.wav",
        () => writeFileSync(join(dir, "data-first.wav"), riff(riffChunk("data", Buffer.alloc(8)))),
        /data chunk before its fmt chunk/,
      ],
      [
        "huge-fmt.wav",
        () => writeFileSync(join(dir, "huge-fmt.wav"), riff(riffChunk("fmt ", Buffer.alloc(2_000_000)))),
        /2000000-byte fmt chunk/,
      ],
    ];
    for (const [name, make, message] of cases) {
      make();
      await expect(WavReader.open(join(dir, name)), name).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
        message: expect.stringMatching(message),
      });
    }
  });
});
