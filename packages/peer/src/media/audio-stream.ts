import { Readable } from "node:stream";
import type { MediaStreamTrack, RtpPacket } from "@parley/werift";
import { PeerError } from "../errors.js";
import { choiceOption, integerOption } from "../options.js";
import { FrameQueue } from "./frame-queue.js";
import { OPUS_RATES, OpusDecoder, type OpusRate } from "./opus.js";
import { OPUS_RTP_RATE, opusIsStereo, opusPacketSamples } from "./opus-packet.js";

export interface AudioFrame {
  /** Interleaved signed 16-bit samples: `samplesPerChannel × channels`. */
  data: Int16Array;
  sampleRate: number;
  channels: 1 | 2;
  samplesPerChannel: number;
  /** Where the frame starts, in ms of audio since the stream's first frame (lost and silent time included). */
  timestampMs: number;
  /** Some of this frame stands for packets that never arrived (or arrived broken): silence, not what was sent. */
  lost: boolean;
  /** The sender's clock jumped by more than `maxGapMs` just before this frame; that time was not filled in. */
  discontinuity: boolean;
}

export interface AudioStreamOptions {
  /** Output rate; 16000 for speech engines. libopus decodes to it directly (a real resampler). Default 48000. */
  sampleRate?: OpusRate;
  /** Output channels: 1 mixes a stereo sender down. Default: as the first packet says it was sent. */
  channels?: 1 | 2;
  /** Frame length. Default 20. */
  frameMs?: 10 | 20;
  /** Frames held for a slow consumer before the oldest are dropped (and counted). Default 500 (10 s at 20 ms). */
  maxQueuedFrames?: number;
  /** Longest hole (loss, or a sender's pause) filled with silence; a longer jump is a discontinuity. Default 10000. */
  maxGapMs?: number;
}

export interface AudioStreamStats {
  /** Frames produced, including silence. */
  frames: number;
  /** Packets decoded. */
  packets: number;
  /** Audio filled in for missing or undecodable packets, in ms. */
  lostMs: number;
  /** Packets that came after their place had passed (reordered too far, or duplicated). */
  latePackets: number;
  /** Packets libopus could not decode (or empty ones). */
  badPackets: number;
  /** Frames dropped because the consumer fell `maxQueuedFrames` behind. */
  droppedFrames: number;
  /** Clock jumps longer than `maxGapMs`, not filled in. */
  discontinuities: number;
}

/** Packets held while waiting for a missing one, and for how long, before it is taken as lost. */
const REORDER_PACKETS = 4;
const REORDER_MS = 60;
/** RFC 3550 A.1: a packet this far behind, or this far ahead, means the sequence restarted, not that packets moved. */
const MAX_MISORDER = 100;
const MAX_DROPOUT = 3000;

interface Held {
  timestamp: number;
  payload: Buffer;
}

/** Signed distance a - b between two 16-bit sequence numbers (RFC 3550 wrap-around). */
function seqDiff(a: number, b: number): number {
  return (((a - b) & 0xffff) << 16) >> 16;
}

/**
 * Decoded PCM of a received Opus track: `for await (const frame of new AudioStream(track))`, or `.readable()` for a
 * Node stream of raw s16le bytes. Packets are put back in order (a short reorder window), and time is never lost:
 * missing packets become silence marked `lost`, a sender's pause (DTX) becomes silence, so a minute of call is a
 * minute of PCM. `close()` when done (the member left); the iterator ends then.
 */
export class AudioStream implements AsyncIterable<AudioFrame> {
  readonly sampleRate: OpusRate;
  readonly frameMs: 10 | 20;
  readonly stats: AudioStreamStats = {
    frames: 0,
    packets: 0,
    lostMs: 0,
    latePackets: 0,
    badPackets: 0,
    droppedFrames: 0,
    discontinuities: 0,
  };
  private readonly queue: FrameQueue<AudioFrame>;
  private readonly maxGap48: number;
  private readonly wantChannels: 1 | 2 | undefined;
  private readonly unsubscribe: () => void;
  private decoder: OpusDecoder | undefined;
  private expectedSeq: number | undefined;
  /** RTP timestamp (48 kHz) where the next packet's audio should start. */
  private nextTimestamp = 0;
  private readonly held = new Map<number, Held>();
  private holdTimer: NodeJS.Timeout | undefined;
  private pending = new Int16Array(0);
  private pendingLost = false;
  private pendingDiscontinuity = false;
  private position = 0;
  private closed = false;
  private ssrc: number | undefined;
  /** The next decoded packet starts timing afresh (a new or restarted source): a discontinuity, nothing filled. */
  private restartTiming = false;

  constructor(track: MediaStreamTrack, options: AudioStreamOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new PeerError("INVALID_OPTION", "options must be an object");
    }
    this.sampleRate = choiceOption("sampleRate", options.sampleRate, 48_000, OPUS_RATES);
    this.wantChannels = choiceOption("channels", options.channels, undefined, [1, 2, undefined]);
    this.frameMs = choiceOption("frameMs", options.frameMs, 20, [10, 20] as const);
    this.queue = new FrameQueue(integerOption("maxQueuedFrames", options.maxQueuedFrames, 500, 1, 100_000));
    this.maxGap48 = (integerOption("maxGapMs", options.maxGapMs, 10_000, 0, 3_600_000) * OPUS_RTP_RATE) / 1000;
    const mime = track.codec?.mimeType.toLowerCase();
    if (track.kind !== "audio" || (mime !== undefined && mime !== "audio/opus")) {
      throw new PeerError("INVALID_ARGUMENT", `AudioStream decodes Opus audio tracks, got ${mime ?? track.kind}`);
    }
    const sub = track.onReceiveRtp.subscribe((rtp: RtpPacket) => this.onRtp(rtp));
    this.unsubscribe = () => sub.unSubscribe();
  }

  /** Channels of the frames: known once the first packet has arrived (or from the option). */
  get channels(): 1 | 2 | undefined {
    return this.decoder?.channels ?? this.wantChannels;
  }

  [Symbol.asyncIterator](): AsyncIterator<AudioFrame> {
    return this.queue[Symbol.asyncIterator]();
  }

  /** The frames as a Node byte stream of interleaved s16le samples (pipe it to a file, a speech engine, ffmpeg). */
  readable(): Readable {
    const frames = this.queue[Symbol.asyncIterator]();
    return Readable.from(
      (async function* () {
        for (let r = await frames.next(); !r.done; r = await frames.next()) {
          yield Buffer.from(r.value.data.buffer, r.value.data.byteOffset, r.value.data.byteLength);
        }
      })(),
      { objectMode: false },
    );
  }

  /** Stops decoding: what is held for reordering is decoded, the last partial frame padded out; the iterator ends. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    if (!this.queue.closed) {
      this.drain(true);
      if (this.pending.length > 0 && this.decoder) {
        this.append(new Int16Array(this.frameSamples() * this.decoder.channels - this.pending.length), false);
      }
    }
    clearTimeout(this.holdTimer);
    this.held.clear();
    this.queue.end();
  }

  private frameSamples(): number {
    return (this.sampleRate * this.frameMs) / 1000;
  }

  private onRtp(rtp: RtpPacket): void {
    if (this.closed || this.queue.closed) {
      // The consumer left its loop (which ends the queue): stop decoding for no one.
      this.close();
      return;
    }
    const seq = rtp.header.sequenceNumber;
    if (this.expectedSeq === undefined) {
      this.expectedSeq = seq;
      this.ssrc = rtp.header.ssrc;
    }
    let ahead = seqDiff(seq, this.expectedSeq);
    if (rtp.header.ssrc !== this.ssrc || ahead < -MAX_MISORDER || ahead > MAX_DROPOUT) {
      // A new source, or a sender that restarted its sequence: not loss, not lateness. What is held is played out,
      // then order and timing start again from this packet (else every packet would count as late for minutes).
      this.drain(true);
      this.ssrc = rtp.header.ssrc;
      this.expectedSeq = seq;
      this.restartTiming = true;
      ahead = 0;
    }
    if (ahead < 0 || this.held.has(seq)) {
      this.stats.latePackets++;
      return;
    }
    // A copy: the same packet object goes to every subscriber, and werift's depacketizers clear what they used.
    this.held.set(seq, { timestamp: rtp.header.timestamp, payload: Buffer.from(rtp.payload) });
    this.drain(false);
  }

  /** Decodes held packets in order; with `giveUp` (or a full window) a missing packet is taken as lost. */
  private drain(giveUp: boolean): void {
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    let lostBefore = false;
    while (this.held.size > 0) {
      const next = this.held.get(this.expectedSeq!);
      if (next) {
        this.held.delete(this.expectedSeq!);
        this.expectedSeq = (this.expectedSeq! + 1) & 0xffff;
        this.decodePacket(next, lostBefore);
        lostBefore = false;
        continue;
      }
      if (!giveUp && this.held.size <= REORDER_PACKETS) {
        this.holdTimer = setTimeout(() => this.drain(true), REORDER_MS);
        return;
      }
      // Skip to the oldest packet held; the time between is filled (and marked) from the timestamps.
      let oldest = Number.POSITIVE_INFINITY;
      for (const seq of this.held.keys()) oldest = Math.min(oldest, seqDiff(seq, this.expectedSeq!));
      this.expectedSeq = (this.expectedSeq! + oldest) & 0xffff;
      lostBefore = true;
    }
  }

  private decodePacket(packet: Held, lostBefore: boolean): void {
    if (!this.decoder) {
      const channels = this.wantChannels ?? (opusIsStereo(packet.payload) ? 2 : 1);
      this.decoder = new OpusDecoder(this.sampleRate, channels);
      this.nextTimestamp = packet.timestamp;
    }
    const gap = (packet.timestamp - this.nextTimestamp) | 0;
    if (this.restartTiming || gap < -this.maxGap48 || gap > this.maxGap48) {
      this.restartTiming = false;
      // The sender's clock jumped (it restarted, or was away longer than we fill): start again from here.
      this.stats.discontinuities++;
      this.pendingDiscontinuity = true;
    } else if (gap < 0) {
      // Its audio would overlap what was already produced (a duplicate timestamp): time only moves forward.
      this.stats.latePackets++;
      return;
    } else if (gap > 0) {
      this.fillSilence(gap, lostBefore);
    }
    const duration = opusPacketSamples(packet.payload);
    let pcm: Int16Array | undefined;
    try {
      if (duration !== undefined) pcm = this.decoder.decode(packet.payload);
    } catch {
      pcm = undefined;
    }
    if (!pcm) {
      this.stats.badPackets++;
      // Keep time: a broken packet stands for its TOC's duration, or one frame when even that is unreadable.
      this.fillSilence(duration ?? (OPUS_RTP_RATE * this.frameMs) / 1000, true);
      this.nextTimestamp = (packet.timestamp + (duration ?? (OPUS_RTP_RATE * this.frameMs) / 1000)) | 0;
      return;
    }
    this.stats.packets++;
    this.nextTimestamp =
      (packet.timestamp + (pcm.length / this.decoder.channels) * (OPUS_RTP_RATE / this.sampleRate)) | 0;
    this.append(pcm, false);
  }

  private fillSilence(samples48: number, lost: boolean): void {
    const samples = Math.round((samples48 * this.sampleRate) / OPUS_RTP_RATE);
    if (lost) this.stats.lostMs += (samples * 1000) / this.sampleRate;
    // In frame-sized pieces, so a long pause never allocates more than a frame at a time.
    const step = this.frameSamples();
    for (let left = samples; left > 0; left -= step) {
      this.append(new Int16Array(Math.min(step, left) * this.decoder!.channels), lost);
    }
  }

  /** Adds PCM and emits every whole frame it completes. */
  private append(pcm: Int16Array, lost: boolean): void {
    const channels = this.decoder!.channels;
    const frameLength = this.frameSamples() * channels;
    if (this.pending.length === 0 && pcm.length === frameLength) {
      // The common case (one 20 ms packet, 20 ms frames): the decoded array is the frame, no copy.
      this.emitFrame(pcm, channels, lost);
      return;
    }
    const joined = new Int16Array(this.pending.length + pcm.length);
    joined.set(this.pending);
    joined.set(pcm, this.pending.length);
    // The first frame holds what was pending and the start of `pcm`; later ones hold only `pcm`.
    let frameLost = this.pendingLost || lost;
    let offset = 0;
    while (joined.length - offset >= frameLength) {
      this.emitFrame(joined.slice(offset, offset + frameLength), channels, frameLost);
      offset += frameLength;
      frameLost = lost;
    }
    this.pending = joined.slice(offset);
    this.pendingLost = this.pending.length > 0 && frameLost;
  }

  private emitFrame(data: Int16Array, channels: 1 | 2, lost: boolean): void {
    const samplesPerChannel = data.length / channels;
    const before = this.queue.dropped;
    this.queue.push({
      data,
      sampleRate: this.sampleRate,
      channels,
      samplesPerChannel,
      timestampMs: (this.position * 1000) / this.sampleRate,
      lost,
      discontinuity: this.pendingDiscontinuity,
    });
    this.stats.droppedFrames += this.queue.dropped - before;
    this.stats.frames++;
    this.position += samplesPerChannel;
    this.pendingDiscontinuity = false;
  }
}
