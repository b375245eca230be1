import { randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import type { WebSocket } from "ws";
import type { SequencedMessage } from "../protocol/messages.js";
import type { Grant } from "./auth.js";
import type { SendBatcher } from "./send-batcher.js";

/** Request answers kept per session for retries (a client has at most this many requests unanswered). */
const ANSWERS_KEPT = 256;

type Unsequenced = SequencedMessage extends infer M ? (M extends SequencedMessage ? Omit<M, "seq"> : never) : never;

/**
 * One participant's session. It outlives its WebSocket for the resume window: messages addressed to it are numbered
 * (`seq`) and kept in a bounded outbox, so a client that resumes with the last seq it saw gets every later message
 * once, in order. When the outbox bound is exceeded while detached, the session is lost (SESSION_EXPIRED).
 */
export class Session {
  readonly id = randomUUID();
  readonly resumeToken = randomBytes(24).toString("base64url");
  readonly rooms = new Map<string, Record<string, unknown> | undefined>();
  socket: WebSocket | undefined;
  expiryTimer: NodeJS.Timeout | undefined;
  iceTimer: NodeJS.Timeout | undefined;
  private seq = 0;
  private readonly outbox: Array<{ seq: number; text: string }> = [];
  private outboxBytes = 0;
  /** Set when a detached session's outbox overflowed: it can no longer be resumed without loss. */
  overflowed = false;

  constructor(
    public grant: Grant,
    private readonly batcher: SendBatcher,
    private readonly limits: { outboxMessages: number; outboxBytes: number },
    /** Called once, when the session becomes impossible to resume (a detached outbox overflowed). */
    private readonly onOverflow: () => void = () => {},
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
    const a = Buffer.from(token);
    const b = Buffer.from(this.resumeToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Numbers, records and (if connected) sends a message addressed to this session. */
  deliver(message: Unsequenced): void {
    const seq = ++this.seq;
    const text = JSON.stringify({ ...message, seq });
    this.outbox.push({ seq, text });
    this.outboxBytes += text.length;
    // Connected: keep a window of recent messages for a resume after an abrupt drop. Detached: the bound is hard.
    while (this.outbox.length > this.limits.outboxMessages || this.outboxBytes > this.limits.outboxBytes) {
      const dropped = this.outbox.shift()!;
      this.outboxBytes -= dropped.text.length;
      if (!this.socket && !this.overflowed) {
        this.overflowed = true;
        this.onOverflow();
      }
    }
    if (this.socket) this.batcher.send(this.socket, text);
  }

  /** Whether everything after `lastSeq` is still held, so a resume loses nothing. */
  canResumeFrom(lastSeq: number): boolean {
    if (this.overflowed || lastSeq > this.seq) return false;
    const first = this.outbox[0]?.seq ?? this.seq + 1;
    return lastSeq + 1 >= first;
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
