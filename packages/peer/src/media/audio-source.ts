import { performance } from "node:perf_hooks";
import { Writable } from "node:stream";
import { MediaStreamTrack, RtpHeader, RtpPacket } from "@parley/werift";
import { PeerError } from "../errors.js";
import { choiceOption, integerOption } from "../options.js";
import { OPUS_RATES, OpusEncoder, type OpusRate } from "./opus.js";
import { OPUS_RTP_RATE } from "./opus-packet.js";
import { Resampler } from "./resample.js";

export interface AudioSourceOptions {
  /**
   * Rate of the PCM you write, 8000–192000. libopus takes 8/12/16/24/48 kHz as they are; any other rate (44.1 kHz
   * files) is resampled to 48 kHz on the way in. Default 48000.
   */
  sampleRate?: number;
  /** Channels of the PCM you write (interleaved). Default 1. */
  channels?: 1 | 2;
  /** Opus frame length. Default 20. */
  frameMs?: 10 | 20;
  /** Opus bitrate in bits/s. Default 32000 mono, 64000 stereo. */
  bitrate?: number;
  /** `write()` resolves once no more than this much audio waits to be sent. Default 200. */
  maxQueuedMs?: number;
  /** "voip" tunes Opus for speech, "audio" for music. Default "voip". */
  application?: "voip" | "audio";
}

export interface AudioSourceStats {
  /** Packets sent, silence included. */
  frames: number;
  /** Frames sent as silence because nothing had been written (idle, or the writer fell behind). */
  silentFrames: number;
  /** Frames skipped after the process stalled for longer than `MAX_CATCH_UP` frames. */
  skippedFrames: number;
}

/** After a stall (a blocked event loop) send at most this many late frames at once; skip the rest, keep the clock. */
const MAX_CATCH_UP = 10;

/**
 * A track a bot speaks into: write interleaved s16le PCM (`await source.write(pcm)` or `.writable()` as a Node
 * stream) and it is Opus-encoded and sent one frame per `frameMs`, paced by the clock. A fast writer waits (the
 * promise, or the stream's backpressure); when nothing is written the track sends silence, so a call never stalls.
 * `room.addTrack(source.track)` sends it to every member.
 */
export class AudioSource {
  readonly track = new MediaStreamTrack({ kind: "audio" });
  readonly sampleRate: number;
  readonly channels: 1 | 2;
  readonly frameMs: 10 | 20;
  readonly stats: AudioSourceStats = { frames: 0, silentFrames: 0, skippedFrames: 0 };
  private readonly encoder: OpusEncoder;
  /** The rate the encoder runs at: `sampleRate` when libopus takes it, else 48 kHz behind `resampler`. */
  private readonly codecRate: OpusRate;
  private readonly resampler: Resampler | undefined;
  private readonly maxQueuedSamples: number;
  private readonly chunks: Int16Array[] = [];
  private queuedSamples = 0;
  private readonly waiting: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = performance.now();
  private framesDue = 0;
  private sequence = Math.floor(Math.random() * 0x10000);
  private timestamp = Math.floor(Math.random() * 0x1_0000_0000);
  private readonly ssrc = Math.floor(Math.random() * 0x1_0000_0000);
  private closed = false;

  constructor(options: AudioSourceOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new PeerError("INVALID_OPTION", "options must be an object");
    }
    this.sampleRate = integerOption("sampleRate", options.sampleRate, 48_000, 8000, 192_000);
    this.channels = choiceOption("channels", options.channels, 1, [1, 2] as const);
    this.frameMs = choiceOption("frameMs", options.frameMs, 20, [10, 20] as const);
    const bitrate = integerOption("bitrate", options.bitrate, this.channels * 32_000, 6_000, 510_000);
    const application = choiceOption("application", options.application, "voip", ["voip", "audio"] as const);
    const maxQueuedMs = integerOption("maxQueuedMs", options.maxQueuedMs, 200, this.frameMs, 60_000);
    this.codecRate = (OPUS_RATES as readonly number[]).includes(this.sampleRate)
      ? (this.sampleRate as OpusRate)
      : 48_000;
    if (this.codecRate !== this.sampleRate) this.resampler = new Resampler(this.sampleRate, 48_000, this.channels);
    this.maxQueuedSamples = (maxQueuedMs * this.codecRate * this.channels) / 1000;
    this.encoder = new OpusEncoder(this.codecRate, this.channels, bitrate, application);
    this.tick();
  }

  /** Audio written but not sent yet, in ms. */
  get queuedMs(): number {
    return (this.queuedSamples * 1000) / (this.codecRate * this.channels);
  }

  /**
   * Queues PCM (interleaved, `channels` per sample, at `sampleRate`); resolves when the queue is back under
   * `maxQueuedMs`, so `for (…) await source.write(chunk)` runs in real time. Rejects once closed.
   */
  async write(pcm: Int16Array | Buffer): Promise<void> {
    if (this.closed) throw new PeerError("CLOSED", "the audio source is closed");
    const written = toSamples(pcm, this.channels);
    const samples = this.resampler ? this.resampler.process(written) : written;
    if (samples.length > 0) {
      this.chunks.push(samples);
      this.queuedSamples += samples.length;
    }
    while (this.queuedSamples > this.maxQueuedSamples && !this.closed) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  /** A Node Writable of raw s16le bytes (chunks need not align to samples); backpressure follows the clock. */
  writable(): Writable {
    let carry: Buffer | undefined;
    const bytesPerSample = 2 * this.channels;
    return new Writable({
      highWaterMark: 4096,
      write: (chunk: Buffer, _encoding, done) => {
        const bytes = carry ? Buffer.concat([carry, chunk]) : chunk;
        const whole = bytes.length - (bytes.length % bytesPerSample);
        carry = whole < bytes.length ? Buffer.from(bytes.subarray(whole)) : undefined;
        this.write(bytes.subarray(0, whole)).then(() => done(), done);
      },
    });
  }

  /** Stops sending; pending writes resolve, later ones reject. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.chunks.length = 0;
    this.queuedSamples = 0;
    for (const wake of this.waiting.splice(0)) wake();
    this.track.stop();
  }

  /** Sends every frame the clock says is due, then sleeps until the next one. */
  private tick(): void {
    if (this.closed) return;
    const due = Math.floor((performance.now() - this.startedAt) / this.frameMs) + 1;
    if (due - this.framesDue > MAX_CATCH_UP) {
      const skipped = due - this.framesDue - MAX_CATCH_UP;
      this.stats.skippedFrames += skipped;
      this.framesDue += skipped;
      // Timestamps keep to the clock, so the receiver hears a gap where the process stalled.
      this.timestamp = (this.timestamp + (skipped * (OPUS_RTP_RATE * this.frameMs)) / 1000) >>> 0;
    }
    while (this.framesDue < due) {
      this.sendFrame();
      this.framesDue++;
    }
    const next = this.startedAt + this.framesDue * this.frameMs;
    this.timer = setTimeout(() => this.tick(), Math.max(0, next - performance.now()));
  }

  private sendFrame(): void {
    const frame = new Int16Array((this.codecRate * this.frameMs * this.channels) / 1000);
    const filled = this.take(frame);
    if (filled === 0) this.stats.silentFrames++;
    const payload = this.encoder.encode(frame);
    const header = new RtpHeader({
      payloadType: 111,
      sequenceNumber: this.sequence,
      timestamp: this.timestamp,
      ssrc: this.ssrc,
      marker: this.stats.frames === 0,
    });
    this.track.writeRtp(new RtpPacket(header, payload));
    this.stats.frames++;
    this.sequence = (this.sequence + 1) & 0xffff;
    this.timestamp = (this.timestamp + (OPUS_RTP_RATE * this.frameMs) / 1000) >>> 0;
    while (this.waiting.length > 0 && this.queuedSamples <= this.maxQueuedSamples) this.waiting.shift()!();
  }

  /** Moves queued samples into `frame`; the rest of a partly filled frame stays zero (silence). */
  private take(frame: Int16Array): number {
    let filled = 0;
    while (filled < frame.length && this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const n = Math.min(chunk.length, frame.length - filled);
      frame.set(chunk.subarray(0, n), filled);
      filled += n;
      if (n === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(n);
    }
    this.queuedSamples -= filled;
    return filled;
  }
}

/** Int16 samples from a Buffer or Int16Array, checked to hold whole sample frames. */
function toSamples(pcm: Int16Array | Buffer, channels: number): Int16Array {
  let samples: Int16Array;
  if (pcm instanceof Int16Array) samples = pcm;
  else if (Buffer.isBuffer(pcm)) {
    if (pcm.length % 2 !== 0) throw new PeerError("INVALID_ARGUMENT", `PCM bytes must be even, got ${pcm.length}`);
    // Copied into an aligned array: a Buffer's offset in its pool need not be even.
    samples = new Int16Array(pcm.length / 2);
    new Uint8Array(samples.buffer).set(pcm);
  } else {
    throw new PeerError("INVALID_ARGUMENT", "write takes an Int16Array or a Buffer of s16le samples");
  }
  if (samples.length % channels !== 0) {
    throw new PeerError("INVALID_ARGUMENT", `${samples.length} samples do not divide into ${channels} channels`);
  }
  // A copy: the caller may reuse its buffer once write() returns.
  return pcm instanceof Int16Array ? samples.slice() : samples;
}
