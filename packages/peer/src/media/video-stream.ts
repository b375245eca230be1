import type { MediaStreamTrack } from "@parley/werift";
import { PeerError } from "../errors.js";
import { choiceOption, integerOption } from "../options.js";
import { keyframeSize } from "../record/frame-size.js";
import { BT601_LIMITED, COLOR_SPACE_URI, type ColorSpace, parseColorSpace } from "./color-space.js";
import { FrameQueue } from "./frame-queue.js";
import { type Frame, onFrames } from "./frames.js";
import { type CodecReply, VideoCodec } from "./video-codec.js";
import { MAX_DIMENSION, type PixelFormat, type VideoFrame } from "./video-frame.js";

export interface DecodedFrame extends VideoFrame {
  /**
   * The colour space the sender declared (color-space RTP header extension), or BT.601 limited range (VP8's own) when
   * it declared none. RGBA frames are already converted with it; I420 frames are as sent.
   */
  colorSpace: ColorSpace;
  /** Milliseconds since the stream's first frame, from the sender's RTP clock. */
  timestampMs: number;
  /** The frame's RTP timestamp (90 kHz). */
  rtpTimestamp: number;
}

export interface VideoStreamOptions {
  /** Pixel format of the frames. Default "rgba". */
  format?: PixelFormat;
  /** Most frames per second handed on (every frame is still decoded; the rest are skipped, and counted). Default 30. */
  maxFps?: number;
  /** Frames held for a slow consumer; past this the oldest is dropped (and counted). Default 1: the newest only. */
  maxQueuedFrames?: number;
  /** The member the track comes from: asked for a keyframe (PLI) whenever decoding needs one. */
  member?: { requestKeyframe(): Promise<void> | void };
}

export interface VideoStreamStats {
  /** Frames handed to the consumer's queue. */
  frames: number;
  /** Frames decoded (including those skipped for maxFps). */
  decoded: number;
  /** Frames dropped because the consumer fell behind (the newer one replaced them). */
  droppedFrames: number;
  /** Frames decoded but not handed on, to keep to maxFps. */
  skippedFrames: number;
  /** Frames not decoded while waiting for a keyframe (after loss, a decode error, or the decoder falling behind). */
  waitedFrames: number;
  decodeErrors: number;
  /** Keyframes not decoded because their header was unreadable or their size past 4096×4096. */
  refusedFrames: number;
  keyframeRequests: number;
}

/** Frames sent to the codec thread and not yet answered; past this the thread is behind and frames are shed. */
const MAX_IN_FLIGHT = 8;
/** At most one keyframe request per this many ms: a burst of loss is one PLI, not one per frame. */
const KEYFRAME_REQUEST_MS = 300;
const RTP_VIDEO_RATE = 90_000;

/**
 * Decoded pictures of a received VP8 track: `for await (const frame of new VideoStream(track, { member }))` gives
 * RGBA (or I420) frames with their size and timestamp, at most `maxFps` a second. A slow consumer gets the newest
 * picture (older ones are dropped and counted), never a growing queue. Decoding runs in a worker thread; when it needs
 * a keyframe (start, loss, errors) the member is asked for one. `close()` when done; the iterator ends then.
 */
export class VideoStream implements AsyncIterable<DecodedFrame> {
  readonly format: PixelFormat;
  readonly maxFps: number;
  readonly stats: VideoStreamStats = {
    frames: 0,
    decoded: 0,
    droppedFrames: 0,
    skippedFrames: 0,
    waitedFrames: 0,
    decodeErrors: 0,
    refusedFrames: 0,
    keyframeRequests: 0,
  };
  private readonly queue: FrameQueue<DecodedFrame>;
  private readonly member: VideoStreamOptions["member"];
  private codec: Promise<VideoCodec> | undefined;
  private stopFrames: (() => void) | undefined;
  private inFlight = 0;
  private waitForKeyframe = true;
  private lastRequest = Number.NEGATIVE_INFINITY;
  private firstTimestamp: number | undefined;
  private lastOutput: number | undefined;
  private closed = false;
  private colorSpace: ColorSpace = BT601_LIMITED;

  constructor(
    private readonly track: MediaStreamTrack,
    options: VideoStreamOptions = {},
  ) {
    if (typeof options !== "object" || options === null) {
      throw new PeerError("INVALID_OPTION", "options must be an object");
    }
    this.format = choiceOption("format", options.format, "rgba", ["rgba", "i420"] as const);
    this.maxFps = integerOption("maxFps", options.maxFps, 30, 1, 120);
    this.queue = new FrameQueue(integerOption("maxQueuedFrames", options.maxQueuedFrames, 1, 1, 300));
    this.member = options.member;
    const mime = track.codec?.mimeType.toLowerCase();
    if (track.kind !== "video" || (mime !== undefined && mime !== "video/vp8")) {
      throw new PeerError("INVALID_ARGUMENT", `VideoStream decodes VP8 video tracks, got ${mime ?? track.kind}`);
    }
    // werift learns the codec with the first packet; the depacketizer needs it.
    if (track.codec) this.start();
    else track.onReceiveRtp.once(() => this.start());
    this.requestKeyframe();
  }

  [Symbol.asyncIterator](): AsyncIterator<DecodedFrame> {
    return this.queue[Symbol.asyncIterator]();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopFrames?.();
    void this.codec?.then(
      (c) => c.close(),
      () => undefined,
    );
    this.queue.end();
  }

  private start(): void {
    if (this.closed) return;
    const mime = this.track.codec?.mimeType.toLowerCase();
    if (mime !== "video/vp8") {
      // Not VP8 after all (the sender's choice): nothing here can decode it, so the stream ends at once.
      this.close();
      return;
    }
    this.codec = VideoCodec.open("decoder");
    this.codec.catch(() => this.close());
    // The sender's colour space rides on its keyframes' packets (when the extension was negotiated).
    const spaces = this.track.onReceiveRtp.subscribe((_rtp, extensions) => {
      const space = parseColorSpace(extensions?.[COLOR_SPACE_URI] as Uint8Array | undefined);
      if (space) this.colorSpace = space;
    });
    const stopFrames = onFrames(
      this.track,
      (frame) => this.onFrame(frame),
      () => this.needKeyframe(),
    );
    this.stopFrames = () => {
      spaces.unSubscribe();
      stopFrames();
    };
  }

  private requestKeyframe(): void {
    const now = performance.now();
    if (!this.member || now - this.lastRequest < KEYFRAME_REQUEST_MS) return;
    this.lastRequest = now;
    this.stats.keyframeRequests++;
    void Promise.resolve(this.member.requestKeyframe()).catch(() => undefined);
  }

  private needKeyframe(): void {
    this.waitForKeyframe = true;
    this.requestKeyframe();
  }

  private onFrame(frame: Frame): void {
    if (this.closed || this.queue.closed) {
      this.close();
      return;
    }
    if (frame.isKeyframe) {
      // A keyframe states its size before any decoding: one claiming 16383×16383 would have the codec thread
      // allocate ~400 MB and the RGBA conversion a gigabyte. Refused, and the stream waits for a sane keyframe.
      const size = keyframeSize("vp8", frame.data);
      if (!size || size.width > MAX_DIMENSION || size.height > MAX_DIMENSION || size.width < 2 || size.height < 2) {
        this.stats.refusedFrames++;
        this.needKeyframe();
        return;
      }
    }
    if (this.waitForKeyframe && !frame.isKeyframe) {
      this.stats.waitedFrames++;
      this.requestKeyframe();
      return;
    }
    if (this.inFlight >= MAX_IN_FLIGHT) {
      // The codec thread is behind: shed frames until a keyframe lets decoding restart cleanly.
      this.stats.waitedFrames++;
      this.needKeyframe();
      return;
    }
    this.waitForKeyframe = false;
    this.firstTimestamp ??= frame.rtpTimestamp;
    const timestampMs = (((frame.rtpTimestamp - this.firstTimestamp) >>> 0) * 1000) / RTP_VIDEO_RATE;
    const wanted = this.lastOutput === undefined || timestampMs - this.lastOutput >= (1000 / this.maxFps) * 0.9;
    if (wanted) this.lastOutput = timestampMs;
    this.inFlight++;
    void this.decode(frame, timestampMs, wanted).finally(() => this.inFlight--);
  }

  private async decode(frame: Frame, timestampMs: number, wanted: boolean): Promise<void> {
    // A copy moved to the codec thread: the depacketizer reuses its buffers.
    const data = new Uint8Array(frame.data);
    let reply: CodecReply;
    try {
      const codec = await this.codec!;
      reply = await codec.send(
        { type: "decode", data, output: wanted ? this.format : null, colorSpace: this.colorSpace },
        [data.buffer as ArrayBuffer],
      );
    } catch {
      return; // the codec could not open: start() has closed the stream
    }
    if (this.closed) return;
    if (!reply.ok) {
      this.stats.decodeErrors++;
      const codec = await this.codec!;
      // Its thread died: a new decoder (on a new thread) starts again from the next keyframe.
      if (!codec.alive && !this.closed) this.codec = VideoCodec.open("decoder");
      this.needKeyframe();
      return;
    }
    if (reply.decoded) this.stats.decoded++;
    if (!wanted) {
      if (reply.decoded) this.stats.skippedFrames++;
      return;
    }
    if (!reply.frame) return;
    const before = this.queue.dropped;
    this.queue.push({ ...reply.frame, colorSpace: this.colorSpace, timestampMs, rtpTimestamp: frame.rtpTimestamp });
    this.stats.droppedFrames += this.queue.dropped - before;
    this.stats.frames++;
  }
}
