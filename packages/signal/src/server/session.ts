import { randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import type { WebSocket } from "ws";
import type { SequencedMessage } from "../protocol/messages.js";
import type { Grant } from "./auth.js";
import type { SendBatcher } from "./send-batcher.js";

/** Request answers kept per session for retries (a client has at most this many requests unanswered). */
const ANSWERS_KEPT = 256;

type Unsequenced = SequencedMessage extends infer M ? (M extends SequencedMessage ? Omit<M, "seq"> : never) : never;

/** Whether a resume from `lastSeq` loses nothing ("ok"), or why not. */
export type ResumeCheck = { ok: true } | { ok: false; problem: "ahead" | "lost"; detail: string };

/**
 * One participant's session. It outlives its WebSocket for the resume window: messages addressed to it are numbered
 * (`seq`) and kept in a bounded outbox, so a client that resumes with the last seq it saw gets every later message
 * once, in order. Messages the client acknowledged (`received`) leave the outbox; when the bound pushes out others,
 * a resume still succeeds if the client had processed them — only a gap between its `lastSeq` and the oldest
 * message kept loses the session (SESSION_EXPIRED, saying which messages were dropped).
 */
export class Session {
  readonly id = randomUUID();
  /** Secret for resuming; a new one on every resume, so an old copy cannot take the session over. */
  resumeToken = randomBytes(24).toString("base64url");
  /**
   * The token the last resume was made with, still accepted until the client shows it has the new one (its first
   * frame on the new connection): a welcome lost to a cut must not cost the session.
   */
  private presentedToken: string | undefined;
  readonly rooms = new Map<string, Record<string, unknown> | undefined>();
  socket: WebSocket | undefined;
  expiryTimer: NodeJS.Timeout | undefined;
  iceTimer: NodeJS.Timeout | undefined;
  private seq = 0;
  private readonly outbox: Array<{ seq: number; text: string }> = [];
  private outboxBytes = 0;
  /** The highest seq no longer held (acknowledged by the client, or pushed out by the bound). */
  private droppedThrough = 0;

  constructor(
    public grant: Grant,
    private readonly batcher: SendBatcher,
    private readonly limits: { outboxMessages: number; outboxBytes: number },
  ) {}

  /** Answers to recent requests by id, so a request re-sent after a resume is answered, not repeated. */
  private readonly answers = new Map<string, string>();

  remember(requestId: string, text: string): void {
    this.answers.set(requestId, text);
    // Insertion order makes the oldest first; the bound is the resume outbox's, which retries cannot outgrow.
    if (this.answers.size > ANSWERS_KEPT) this.answers.delete(this.answers.keys().next().value!);
  }

  answerTo(requestId: string): string | undefined {
    return this.answers.get(requestId);
  }

  tokenMatches(token: string): boolean {
    return (
      sameSecret(token, this.resumeToken) ||
      (this.presentedToken !== undefined && sameSecret(token, this.presentedToken))
    );
  }

  /** The client sent a frame after its welcome: it holds the current token, and the one before dies. */
  confirmToken(): void {
    this.presentedToken = undefined;
  }

  /** The seq of the last message addressed to this session. */
  get lastSeq(): number {
    return this.seq;
  }

  /** Numbers, records and (if connected) sends a message addressed to this session. */
  deliver(message: Unsequenced): void {
    const seq = ++this.seq;
    // `seq` goes last, as JSON.stringify({ ...message, seq }) would put it, without copying the message first.
    const json = JSON.stringify(message);
    const text = `${json.slice(0, -1)},"seq":${seq}}`;
    this.outbox.push({ seq, text });
    this.outboxBytes += text.length;
    // The bound holds connected or not: the oldest messages go first. Whether that loses anything is known only
    // at resume, when the client says what it had processed (or earlier, through `received`).
    while (this.outbox.length > this.limits.outboxMessages || this.outboxBytes > this.limits.outboxBytes) {
      this.drop();
    }
    if (this.socket) this.batcher.send(this.socket, text);
  }

  /** The client processed every message through `seq` (`received`): they need not be kept for a resume. */
  acknowledge(seq: number): void {
    const through = Math.min(seq, this.seq);
    while (this.outbox.length > 0 && this.outbox[0]!.seq <= through) this.drop();
    this.droppedThrough = Math.max(this.droppedThrough, through);
  }

  /** Whether everything after `lastSeq` is still held, so a resume loses nothing; if not, what happened. */
  resumeFrom(lastSeq: number): ResumeCheck {
    if (lastSeq > this.seq) {
      return {
        ok: false,
        problem: "ahead",
        detail: `resume.lastSeq ${lastSeq} is ahead of the last message this session was sent (seq ${this.seq})`,
      };
    }
    if (lastSeq < this.droppedThrough) {
      return {
        ok: false,
        problem: "lost",
        detail: `messages ${lastSeq + 1} to ${this.droppedThrough} were dropped (the outbox keeps ${this.limits.outboxMessages} messages or ${this.limits.outboxBytes} bytes)`,
      };
    }
    return { ok: true };
  }

  /** A new token for the resume made with `presented` (which stays valid until `confirmToken`). */
  rotateResumeToken(presented: string): void {
    this.presentedToken = presented;
    this.resumeToken = randomBytes(24).toString("base64url");
  }

  private drop(): void {
    const dropped = this.outbox.shift()!;
    this.outboxBytes -= dropped.text.length;
    this.droppedThrough = Math.max(this.droppedThrough, dropped.seq);
  }

  /** Sends everything after `lastSeq` on the current socket, in order. */
  replay(lastSeq: number): void {
    const socket = this.socket;
    if (!socket) return;
    for (const entry of this.outbox) if (entry.seq > lastSeq) this.batcher.send(socket, entry.text);
  }

  clearTimers(): void {
    clearTimeout(this.expiryTimer);
    clearTimeout(this.iceTimer);
    this.expiryTimer = undefined;
    this.iceTimer = undefined;
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
