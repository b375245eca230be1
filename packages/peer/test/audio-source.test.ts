import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { firstChannel, joinSamples, peak, rms, sine } from "../../../test/helpers/tone.js";
import { type AudioFrame, AudioSource, type AudioSourceOptions, AudioStream, PeerError } from "../src/index.js";
import { loopbackPeer, signalServer, until, waitFor } from "./helpers/room-fixture.js";

function joined(frames: AudioFrame[]): Int16Array {
  return joinSamples(frames.map((f) => f.data));
}

/** Collects what an AudioStream on the source's own track hears (a local track delivers what is written to it). */
function listen(source: AudioSource) {
  const stream = new AudioStream(source.track);
  const frames: AudioFrame[] = [];
  const done = (async () => {
    for await (const f of stream) frames.push(f);
  })();
  return { stream, frames, done };
}

describe("AudioSource", () => {
  it("speaks to another bot through a real connection: it hears a 1 kHz tone, paced by the clock", async () => {
    const url = await signalServer();
    const speaker = await loopbackPeer(url);
    const listener = await loopbackPeer(url);
    const source = new AudioSource();
    const room = await speaker.join("r", { receive: { audio: false, video: false } });
    room.addTrack(source.track);
    const heard = listener
      .join("r", { receive: { audio: true, video: false } })
      .then((r) => waitFor<AudioStream>((resolve) => r.on("track", (_m, track) => resolve(new AudioStream(track)))));
    const stream = await heard;
    const frames: AudioFrame[] = [];
    const reading = (async () => {
      for await (const f of stream) frames.push(f);
    })();
    await until(() => frames.length > 0, 15_000, "first frame");
    const tone = sine(1000, 2, 48_000, 1);
    const started = performance.now();
    for (let at = 0; at < tone.length; at += 4800) await source.write(tone.subarray(at, at + 4800));
    const elapsed = performance.now() - started;
    // 2 s of audio cannot be taken faster than the clock sends it, less what may wait in the queue (200 ms).
    expect(elapsed).toBeGreaterThan(2000 - 200 - 100);
    await new Promise((r) => setTimeout(r, 400));
    stream.close();
    await reading;
    const loud = frames.filter((f) => rms(firstChannel(f.data, f.channels)) > 0.05);
    expect(loud.length).toBeGreaterThan(80);
    const { hz, share } = peak(firstChannel(joined(loud), loud[0]!.channels), 48_000);
    expect(Math.abs(hz - 1000)).toBeLessThan(5);
    expect(share).toBeGreaterThan(0.9);
    source.close();
  });

  it("sends silence while nothing is written, one frame per 20 ms", async () => {
    const source = new AudioSource();
    const { stream, frames, done } = listen(source);
    await new Promise((r) => setTimeout(r, 300));
    source.close();
    stream.close();
    await done;
    expect(frames.length).toBeGreaterThanOrEqual(5);
    expect(source.stats.silentFrames).toBe(source.stats.frames);
    expect(frames.every((f) => rms(firstChannel(f.data, f.channels)) < 0.001)).toBe(true);
  });

  it("holds a fast writer back: after each write no more than maxQueuedMs waits", async () => {
    const source = new AudioSource({ sampleRate: 16_000, maxQueuedMs: 100 });
    const chunk = sine(300, 0.05, 16_000);
    const started = performance.now();
    let most = 0;
    for (let i = 0; i < 20; i++) {
      await source.write(chunk);
      most = Math.max(most, source.queuedMs);
    }
    expect(most).toBeLessThanOrEqual(100);
    expect(performance.now() - started).toBeGreaterThan(1000 - 100 - 100);
    source.close();
  });

  it("takes a Node byte stream cut at odd places (split samples) and sends it intact", async () => {
    const source = new AudioSource({ channels: 2 });
    const { stream, frames, done } = listen(source);
    const tone = Buffer.from(sine(1000, 0.6, 48_000, 2).buffer);
    const pieces: Buffer[] = [];
    for (let at = 0; at < tone.length; at += 333) pieces.push(tone.subarray(at, at + 333));
    await pipeline(Readable.from(pieces), source.writable());
    await new Promise((r) => setTimeout(r, 300));
    source.close();
    stream.close();
    await done;
    const loud = frames.filter((f) => rms(firstChannel(f.data, 2)) > 0.05);
    expect(loud.length).toBeGreaterThanOrEqual(28);
    expect(Math.abs(peak(firstChannel(joined(loud), 2), 48_000).hz - 1000)).toBeLessThan(5);
  });

  it("takes 44.1 kHz PCM (resampled to 48 kHz): the tone arrives at its frequency", async () => {
    const source = new AudioSource({ sampleRate: 44_100 });
    const { stream, frames, done } = listen(source);
    await source.write(sine(1000, 0.6, 44_100));
    await new Promise((r) => setTimeout(r, 500));
    source.close();
    stream.close();
    await done;
    const loud = frames.filter((f) => rms(firstChannel(f.data, 1)) > 0.05);
    expect(loud.length).toBeGreaterThanOrEqual(28);
    expect(Math.abs(peak(firstChannel(joined(loud), 1), 48_000).hz - 1000)).toBeLessThan(5);
  });

  it("refuses bad options, ragged PCM and writes after close with typed errors", async () => {
    const bad: Array<[AudioSourceOptions, RegExp]> = [
      [{ sampleRate: 4000 }, /sampleRate must be an integer from 8000 to 192000, got 4000/],
      [{ channels: 0 as never }, /channels must be one of 1, 2/],
      [{ bitrate: 1000 }, /bitrate must be an integer from 6000 to 510000/],
      [{ maxQueuedMs: 5 }, /maxQueuedMs must be an integer from 20/],
      [{ application: "games" as never }, /application must be one of voip, audio/],
    ];
    for (const [options, message] of bad) {
      expect(() => new AudioSource(options)).toThrow(message);
    }
    const source = new AudioSource({ channels: 2 });
    await expect(source.write(Buffer.alloc(3))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(source.write(new Int16Array(3))).rejects.toThrow(/3 samples do not divide into 2 channels/);
    source.close();
    await expect(source.write(new Int16Array(2))).rejects.toBeInstanceOf(PeerError);
  });
});
