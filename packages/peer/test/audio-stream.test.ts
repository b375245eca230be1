import { MediaStreamTrack, RtpHeader, RtpPacket } from "@parley/werift";
import { describe, expect, it } from "vitest";
import { firstChannel, joinSamples, peak, rms, sine } from "../../../test/helpers/tone.js";
import { type AudioFrame, AudioStream, type AudioStreamOptions, PeerError } from "../src/index.js";
import { OpusEncoder } from "../src/media/opus.js";

/** 20 ms Opus packets of `pcm` (48 kHz), as RTP with consecutive sequence numbers and timestamps. */
function packets(pcm: Int16Array, channels: 1 | 2, firstSeq = 1000, firstTs = 5000): RtpPacket[] {
  const encoder = new OpusEncoder(48_000, channels, 64_000, "audio");
  const frame = 960 * channels;
  const out: RtpPacket[] = [];
  for (let i = 0; i + frame <= pcm.length; i += frame) {
    const n = out.length;
    const header = new RtpHeader({
      payloadType: 111,
      sequenceNumber: (firstSeq + n) & 0xffff,
      timestamp: (firstTs + n * 960) >>> 0,
      ssrc: 1,
    });
    out.push(new RtpPacket(header, encoder.encode(pcm.subarray(i, i + frame))));
  }
  return out;
}

/** Feeds packets to an AudioStream on a local track, closes it, and returns every frame it produced. */
async function decode(input: RtpPacket[], options: AudioStreamOptions = {}) {
  const track = new MediaStreamTrack({ kind: "audio" });
  const stream = new AudioStream(track, options);
  for (const p of input) track.onReceiveRtp.execute(p);
  stream.close();
  const frames: AudioFrame[] = [];
  for await (const f of stream) frames.push(f);
  return { frames, stats: stream.stats, stream };
}

function joined(frames: AudioFrame[]): Int16Array {
  return joinSamples(frames.map((f) => f.data));
}

describe("AudioStream", () => {
  it("decodes a stereo 440 Hz sine into 20 ms 48 kHz stereo frames with the tone at 440 Hz", async () => {
    const { frames, stats } = await decode(packets(sine(440, 1, 48_000, 2), 2));
    expect(frames).toHaveLength(50);
    expect(frames[0]).toMatchObject({ sampleRate: 48_000, channels: 2, samplesPerChannel: 960, lost: false });
    expect(frames[1]!.timestampMs).toBe(20);
    expect(stats).toMatchObject({ packets: 50, lostMs: 0, latePackets: 0, badPackets: 0 });
    const { hz, share } = peak(firstChannel(joined(frames), 2), 48_000);
    expect(Math.abs(hz - 440)).toBeLessThan(5);
    expect(share).toBeGreaterThan(0.9);
  });

  it("gives 16 kHz mono for speech engines, filtered: a 10 kHz tone does not fold back to 6 kHz", async () => {
    const speech = await decode(packets(sine(440, 1, 48_000, 2), 2), { sampleRate: 16_000, channels: 1 });
    expect(speech.frames).toHaveLength(50);
    expect(speech.frames[0]).toMatchObject({ sampleRate: 16_000, channels: 1, samplesPerChannel: 320 });
    expect(Math.abs(peak(firstChannel(joined(speech.frames), 1), 16_000).hz - 440)).toBeLessThan(5);
    // Dropping two samples in three would alias 10 kHz to 6 kHz at full level; a low-pass leaves next to nothing.
    const high = await decode(packets(sine(10_000, 1), 1), { sampleRate: 16_000 });
    const level = rms(firstChannel(joined(high.frames), 1).subarray(1600));
    expect(level).toBeLessThan(0.01);
  });

  it("gives 10 ms frames when asked", async () => {
    const { frames } = await decode(packets(sine(440, 0.2), 1), { frameMs: 10 });
    expect(frames).toHaveLength(20);
    expect(frames[0]!.samplesPerChannel).toBe(480);
  });

  it("keeps time through loss: 5 lost packets become 100 ms of marked silence, and a second is still a second", async () => {
    const all = packets(sine(440, 1), 1);
    const { frames, stats } = await decode([...all.slice(0, 10), ...all.slice(15)]);
    expect(frames).toHaveLength(50);
    expect(frames.filter((f) => f.lost).map((f) => f.timestampMs)).toEqual([200, 220, 240, 260, 280]);
    expect(stats.lostMs).toBe(100);
    expect(rms(firstChannel(frames[12]!.data, 1))).toBe(0);
  });

  it("puts reordered packets back in order and drops duplicates, producing what in-order delivery would", async () => {
    const all = packets(sine(440, 0.4), 1);
    const expected = joined((await decode(all)).frames);
    const shuffled = [...all];
    [shuffled[3], shuffled[5]] = [shuffled[5]!, shuffled[3]!];
    [shuffled[10], shuffled[11]] = [shuffled[11]!, shuffled[10]!];
    shuffled.splice(8, 0, all[7]!, all[2]!);
    const { frames, stats } = await decode(shuffled);
    expect(joined(frames)).toEqual(expected);
    expect(stats).toMatchObject({ latePackets: 2, lostMs: 0 });
  });

  it("on close, decodes what it held waiting for a missing packet, the missing one as marked silence", async () => {
    const all = packets(sine(440, 0.2), 1);
    // Packet 5 never comes; 6–9 wait in the reorder window when the stream is closed.
    const { frames, stats } = await decode([...all.slice(0, 5), ...all.slice(6)]);
    expect(frames).toHaveLength(10);
    expect(frames.map((f) => f.lost)).toEqual([false, false, false, false, false, true, false, false, false, false]);
    expect(stats.packets).toBe(9);
  });

  it("follows a sender that restarts its sequence and clock (RFC 3550 A.1): nothing counted late, nothing filled", async () => {
    const before = packets(sine(440, 0.2), 1, 30_000, 1_000_000);
    const after = packets(sine(440, 0.2), 1, 5_000, 77_000);
    const { frames, stats } = await decode([...before, ...after]);
    expect(frames).toHaveLength(20);
    expect(stats).toMatchObject({ latePackets: 0, lostMs: 0, discontinuities: 1, packets: 20 });
    expect(frames[10]!.discontinuity).toBe(true);
    // The same from a new SSRC with sequence numbers that happen to follow on.
    const renamed = packets(sine(440, 0.2), 1, 30_010, 9_999).map((p) => {
      p.header.ssrc = 2;
      return p;
    });
    const next = await decode([...before, ...renamed]);
    expect(next.frames).toHaveLength(20);
    expect(next.stats.discontinuities).toBe(1);
  });

  it("runs across sequence-number and timestamp wrap-around without a gap", async () => {
    const { frames, stats } = await decode(packets(sine(440, 0.4), 1, 65_530, 0xffff_ffff - 960 * 3));
    expect(frames).toHaveLength(20);
    expect(stats).toMatchObject({ lostMs: 0, latePackets: 0, discontinuities: 0 });
  });

  it("fills a sender's pause (DTX: timestamps jump, sequence numbers do not) with silence not marked lost", async () => {
    const all = packets(sine(440, 0.4), 1);
    const paused = all.map((p, i) => {
      const q = p.clone();
      if (i >= 10) q.header.timestamp = (q.header.timestamp + 48 * 400) >>> 0;
      return q;
    });
    const { frames, stats } = await decode(paused);
    expect(frames).toHaveLength(40);
    expect(frames.some((f) => f.lost)).toBe(false);
    expect(stats.lostMs).toBe(0);
  });

  it("marks a clock jump past maxGapMs as a discontinuity instead of filling it", async () => {
    const all = packets(sine(440, 0.4), 1);
    const jumped = all.map((p, i) => {
      const q = p.clone();
      if (i >= 10) q.header.timestamp = (q.header.timestamp + 48 * 60_000) >>> 0;
      return q;
    });
    const { frames, stats } = await decode(jumped, { maxGapMs: 5000 });
    expect(frames).toHaveLength(20);
    expect(stats.discontinuities).toBe(1);
    expect(frames.findIndex((f) => f.discontinuity)).toBe(10);
  });

  it("keeps the time of a packet libopus rejects, as marked silence", async () => {
    const all = packets(sine(440, 0.2), 1);
    // TOC of a 20 ms CELT frame, then bytes libopus cannot parse as one (a code 3 count of 0 frames).
    all[4] = new RtpPacket(all[4]!.header, Buffer.from([(31 << 3) | 3, 0]));
    const { frames, stats } = await decode(all);
    expect(frames).toHaveLength(10);
    expect(stats.badPackets).toBe(1);
    expect(frames[4]!.lost).toBe(true);
  });

  it("drops the oldest frames for a consumer that does not keep up, and counts them", async () => {
    const { frames, stats } = await decode(packets(sine(440, 0.4), 1), { maxQueuedFrames: 5 });
    expect(frames).toHaveLength(5);
    expect(frames[0]!.timestampMs).toBe(300);
    expect(stats.droppedFrames).toBe(15);
  });

  it("reads as a Node byte stream: 0.4 s of 16 kHz mono is 12,800 bytes", async () => {
    const track = new MediaStreamTrack({ kind: "audio" });
    const stream = new AudioStream(track, { sampleRate: 16_000, channels: 1 });
    const readable = stream.readable();
    for (const p of packets(sine(440, 0.4), 1)) track.onReceiveRtp.execute(p);
    stream.close();
    let bytes = 0;
    for await (const chunk of readable) bytes += (chunk as Buffer).length;
    expect(bytes).toBe(12_800);
  });

  it("refuses bad options and non-audio tracks with typed errors", () => {
    const track = new MediaStreamTrack({ kind: "audio" });
    const bad: Array<[AudioStreamOptions, RegExp]> = [
      [{ sampleRate: 44_100 as never }, /sampleRate must be one of 8000, 12000, 16000, 24000, 48000/],
      [{ channels: 3 as never }, /channels must be one of 1, 2/],
      [{ frameMs: 5 as never }, /frameMs must be one of 10, 20/],
      [{ maxQueuedFrames: 0 }, /maxQueuedFrames must be an integer from 1/],
      [{ maxGapMs: -1 }, /maxGapMs must be an integer from 0/],
    ];
    for (const [options, message] of bad) {
      const err = (() => {
        try {
          new AudioStream(track, options);
        } catch (e) {
          return e as PeerError;
        }
      })();
      expect(err).toBeInstanceOf(PeerError);
      expect(err).toMatchObject({ code: "INVALID_OPTION", message: expect.stringMatching(message) });
    }
    expect(() => new AudioStream(new MediaStreamTrack({ kind: "video" }))).toThrow(/decodes Opus audio tracks/);
  });
});
