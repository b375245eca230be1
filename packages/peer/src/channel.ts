import type { RTCDataChannel } from "@parley/werift";
import { EventEmitter } from "eventemitter3";
import { PeerError } from "./errors.js";

export interface ChannelOptions {
  /** In-order delivery. Default true. */
  ordered?: boolean;
  /** Partial reliability: give up on a message after this many retransmissions. Default: fully reliable. */
  maxRetransmits?: number;
  /** send() waits while more than this many bytes are buffered. Default 1 MiB. */
  highWaterMark?: number;
  /** How long send() may wait for the buffer to drain before failing with SEND_TIMEOUT. Default 30 s. */
  sendTimeoutMs?: number;
}

export interface ChannelEvents {
  open: () => void;
  message: (data: string | Buffer) => void;
  close: () => void;
}

/** Largest message werift can send in one piece over SCTP here (browsers accept 256 KiB). */
export const MAX_MESSAGE_BYTES = 256 * 1024;

/**
 * A data channel with backpressure: `await channel.send(data)` resolves once the message is queued below the
 * high-water mark, so a bot that sends in a loop never buffers without bound.
 */
export class Channel extends EventEmitter<ChannelEvents> {
  private readonly highWaterMark: number;
  private readonly sendTimeoutMs: number;
  private readonly drainWaiters = new Set<() => void>();

  constructor(
    readonly raw: RTCDataChannel,
    readonly memberId: string,
    options: ChannelOptions = {},
  ) {
    super();
    this.highWaterMark = options.highWaterMark ?? 1024 * 1024;
    this.sendTimeoutMs = options.sendTimeoutMs ?? 30_000;
    raw.bufferedAmountLowThreshold = this.highWaterMark / 2;
    raw.bufferedAmountLow.subscribe(() => this.wakeSenders());
    raw.onMessage.subscribe((data) => this.emit("message", data));
    raw.stateChanged.subscribe((state) => {
      if (state === "open") this.emit("open");
      if (state === "closed") {
        this.wakeSenders();
        this.emit("close");
      }
    });
  }

  get label(): string {
    return this.raw.label;
  }

  get readyState(): RTCDataChannel["readyState"] {
    return this.raw.readyState;
  }

  get bufferedAmount(): number {
    return this.raw.bufferedAmount;
  }

  /** Resolves when the channel is open (at once if it is). */
  opened(timeoutMs = 30_000): Promise<this> {
    if (this.raw.readyState === "open") return Promise.resolve(this);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new PeerError("CHANNEL_CLOSED", `channel "${this.label}" did not open within ${timeoutMs} ms`, this.memberId),
        );
      }, timeoutMs);
      const onOpen = () => {
        cleanup();
        resolve(this);
      };
      const onClose = () => {
        cleanup();
        reject(new PeerError("CHANNEL_CLOSED", `channel "${this.label}" closed before it opened`, this.memberId));
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.off("open", onOpen);
        this.off("close", onClose);
      };
      this.on("open", onOpen);
      this.on("close", onClose);
    });
  }

  /** Sends text or binary; waits (up to sendTimeoutMs) while the channel's buffer is above the high-water mark. */
  async send(data: string | Uint8Array): Promise<void> {
    const payload = typeof data === "string" ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const size = typeof payload === "string" ? Buffer.byteLength(payload) : payload.length;
    if (size > MAX_MESSAGE_BYTES) {
      throw new PeerError(
        "INVALID_ARGUMENT",
        `message of ${size} bytes exceeds ${MAX_MESSAGE_BYTES}; split it`,
        this.memberId,
      );
    }
    if (this.raw.readyState === "connecting") await this.opened();
    const deadline = Date.now() + this.sendTimeoutMs;
    while (this.raw.readyState === "open" && this.raw.bufferedAmount > this.highWaterMark) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new PeerError(
          "SEND_TIMEOUT",
          `channel "${this.label}" stayed above ${this.highWaterMark} buffered bytes for ${this.sendTimeoutMs} ms`,
          this.memberId,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, Math.min(left, 1000));
        function wake() {
          clearTimeout(timer);
          resolve();
        }
        this.drainWaiters.add(wake);
      });
    }
    if (this.raw.readyState !== "open") {
      throw new PeerError("CHANNEL_CLOSED", `channel "${this.label}" is ${this.raw.readyState}`, this.memberId);
    }
    this.raw.send(payload);
  }

  close(): void {
    if (this.raw.readyState === "open" || this.raw.readyState === "connecting") this.raw.close();
    this.wakeSenders();
  }

  private wakeSenders(): void {
    const waiters = [...this.drainWaiters];
    this.drainWaiters.clear();
    for (const wake of waiters) wake();
  }
}
