import { performance } from "node:perf_hooks";
import { MediaStreamTrack } from "@parley/werift";
import { PeerError } from "../errors.js";
import { integerOption } from "../options.js";
import { onKeyframeRequest } from "./keyframe-requests.js";
import { VideoCodec } from "./video-codec.js";
import { checkFrame, type VideoFrame } from "./video-frame.js";
import { Vp8Packetizer } from "./vp8-packetizer.js";

export interface VideoSourceOptions {
  /** Target VP8 bitrate in bits/s. Default 1000000. */
  bitrate?: number;
  /** Most frames per second sent; a faster writer waits. Default 30. */
  maxFps?: number;
  /** A keyframe at least this often (ms), for receivers that never ask; 0: only when asked. Default 10000. */
  keyframeIntervalMs?: number;
}

export interface VideoSourceStats {
  frames: number;
  keyframes: number;
  /** PLI/FIR requests from members (each answered by the next frame being a keyframe). */
  keyframeRequests: number;
  bytes: number;
}

const RTP_VIDEO_RATE = 90_000;

/**
 * A video track a bot draws into: `await source.write({ format: "rgba", width, height, data })` VP8-encodes the
 * frame (in the codec worker thread) and sends it to every member the track was added to (`room.addTrack(
 * source.track)`). Writes are paced to `maxFps` — a fast writer waits — and one frame is encoded at a time. A member's
 * PLI or FIR makes the next frame a keyframe; a new frame size starts a new stream with one.
 */
export class VideoSource {
  readonly track = new MediaStreamTrack({ kind: "video" });
  readonly bitrate: number;
  readonly maxFps: number;
  readonly keyframeIntervalMs: number;
  readonly stats: VideoSourceStats = { frames: 0, keyframes: 0, keyframeRequests: 0, bytes: 0 };
  private codec = VideoCodec.open("encoder");
  private readonly packetizer = new Vp8Packetizer();
  private readonly stopRequests: () => void;
  private readonly clockStart = performance.now();
  private readonly timestampBase = Math.floor(Math.random() * 0x1_0000_0000);
  private nextSlot = 0;
  private lastKeyframe = Number.NEGATIVE_INFINITY;
  private keyframeWanted = true;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(options: VideoSourceOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new PeerError("INVALID_OPTION", "options must be an object");
    }
    this.bitrate = integerOption("bitrate", options.bitrate, 1_000_000, 50_000, 20_000_000);
    this.maxFps = integerOption("maxFps", options.maxFps, 30, 1, 60);
    this.keyframeIntervalMs = integerOption("keyframeIntervalMs", options.keyframeIntervalMs, 10_000, 0, 3_600_000);
    this.codec.catch(() => undefined); // reported by write()
    this.stopRequests = onKeyframeRequest(this.track, () => {
      this.stats.keyframeRequests++;
      this.keyframeWanted = true;
    });
  }

  /** Sends the next keyframe now-ish (on the next frame written). */
  requestKeyframe(): void {
    this.keyframeWanted = true;
  }

  /**
   * Encodes and sends one frame; resolves when it has gone out and the next may be written (at most `maxFps` a
   * second). Rejects with INVALID_ARGUMENT for a malformed frame (nothing is sent) and CLOSED after close().
   */
  write(frame: VideoFrame): Promise<void> {
    if (this.closed) return Promise.reject(new PeerError("CLOSED", "the video source is closed"));
    try {
      checkFrame(frame);
    } catch (err) {
      return Promise.reject(err);
    }
    // A copy taken now: the caller may draw the next picture into the same buffer once write() returns.
    const data = new Uint8Array(frame.data);
    const next = this.writing.then(() => this.send({ ...frame, data }));
    this.writing = next.catch(() => undefined);
    return next;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopRequests();
    void this.codec.then(
      (c) => c.close(),
      () => undefined,
    );
    this.track.stop();
  }

  private async send(frame: VideoFrame): Promise<void> {
    const wait = this.nextSlot - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (this.closed) throw new PeerError("CLOSED", "the video source is closed");
    const now = performance.now();
    this.nextSlot = Math.max(now, this.nextSlot) + 1000 / this.maxFps;
    const interval = this.keyframeIntervalMs > 0 && now - this.lastKeyframe >= this.keyframeIntervalMs;
    const keyframe = this.keyframeWanted || interval;
    this.keyframeWanted = false;
    const timestamp = (this.timestampBase + Math.round(((now - this.clockStart) * RTP_VIDEO_RATE) / 1000)) >>> 0;
    const codec = await this.codec;
    const reply = await codec.send(
      {
        type: "encode",
        format: frame.format,
        width: frame.width,
        height: frame.height,
        data: frame.data,
        pts: Math.round(((now - this.clockStart) * RTP_VIDEO_RATE) / 1000),
        keyframe,
        bitrate: this.bitrate,
      },
      [frame.data.buffer as ArrayBuffer],
    );
    if (!reply.ok) {
      if (!codec.alive && !this.closed) {
        // Its thread died: the next write opens a new encoder, which starts with a keyframe.
        this.codec = VideoCodec.open("encoder");
        this.codec.catch(() => undefined);
        this.keyframeWanted = true;
      }
      throw new PeerError("INVALID_ARGUMENT", `VP8 encoding failed: ${reply.error}`);
    }
    if (this.closed) return;
    for (const packet of reply.packets ?? []) {
      if (packet.keyframe) {
        this.stats.keyframes++;
        this.lastKeyframe = now;
      }
      this.stats.frames++;
      this.stats.bytes += packet.data.length;
      for (const rtp of this.packetizer.packetize(packet.data, timestamp)) this.track.writeRtp(rtp);
    }
  }
}
