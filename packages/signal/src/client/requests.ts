// The client's requests from the moment they are made to their answer: ids, timeouts, the send queue paced to the
// server's rate, the pause-and-resend after UNAVAILABLE, and the re-send of everything unanswered after a reconnect.
// The connection itself (sockets, hello, reconnects) stays in client.ts; it tells this queue when it can send.
import { SignalError, SignalErrorCode } from "../protocol/errors.js";
import type { ServerMessage } from "../protocol/messages.js";

interface Pending {
  id: string;
  text: string;
  resolve: (msg: ServerMessage) => void;
  reject: (err: SignalError) => void;
  timer: ReturnType<typeof setTimeout>;
  /** Part of the session's state: re-sent after a resume (the server answers a repeated id from its cache). */
  sent: boolean;
  /** Bound to one socket (hello, heartbeat ping): never queued or re-sent. */
  oneShot: boolean;
  /** Answered UNAVAILABLE: goes again, in order, after a pause (the server dedupes by id). */
  retry: boolean;
}

/** Pauses before re-sending requests answered UNAVAILABLE: 200 ms, doubling to 2 s. */
const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 2000;

/** What the queue needs from the connection. */
export interface RequestLink {
  /** Sends on the current socket, if there is one (hello goes before the session is open). */
  send(text: string): void;
  /** Whether the session is open: queued requests go only then. */
  open(): boolean;
  /** The server's advertised messagesPerSecond. */
  rate(): number;
}

export class Requests {
  private readonly pending = new Map<string, Pending>();
  private readonly outgoing: Pending[] = [];
  private nextId = 1;
  private tokens = 0;
  private tokensAt = Date.now();
  /** Requests were refused UNAVAILABLE: nothing new is sent until they have gone again (see scheduleRetry). */
  private pausedForRetry = false;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryDelay = RETRY_FIRST_MS;

  constructor(private readonly link: RequestLink) {}

  /** Requests waiting for an answer (queued or sent). */
  get size(): number {
    return this.pending.size;
  }

  /** Whether new requests wait for refused ones to go again. */
  get waitingToRetry(): boolean {
    return this.pausedForRetry;
  }

  /** A request that is part of the session: queued while there is no connection, re-sent after a resume. */
  session(body: Record<string, unknown>, timeoutMs: number): Promise<ServerMessage> {
    return this.track(body, timeoutMs, (p) => {
      this.outgoing.push(p);
      this.flush();
    });
  }

  /** A request on the current socket only (hello, heartbeat ping): not queued, not re-sent. */
  oneShot(body: Record<string, unknown>, timeoutMs: number): Promise<ServerMessage> {
    return this.track(body, timeoutMs, (p) => {
      p.oneShot = true;
      this.link.send(p.text);
    });
  }

  /** The answer to request `re` came. */
  answered(re: string, msg: ServerMessage): void {
    this.retryDelay = RETRY_FIRST_MS;
    this.settle(re)?.resolve(msg);
  }

  /** Request `re` was refused: rejects it. False if no such request waits. */
  refused(re: string, err: SignalError): boolean {
    const p = this.settle(re);
    p?.reject(err);
    return p !== undefined;
  }

  /**
   * The server's store is unreachable for now (UNAVAILABLE). The server then refuses every later request on this
   * connection until the first refused one comes back, so the queue pauses: once every request in flight has its
   * answer, it waits a moment and sends the refused ones again, in their order, with their ids (a request that did
   * run is answered from the server's cache, not run twice), and only then anything newer. Order per sender holds.
   * The request's own timeout still bounds it. False for requests that are not retried (hello, heartbeat pings).
   */
  scheduleRetry(id: string): boolean {
    const p = this.pending.get(id);
    if (!p || p.oneShot) return false;
    p.retry = true;
    this.pausedForRetry = true;
    this.retryWhenSettled();
    return true;
  }

  /** A new session after a failed resume: requests already sent belonged to the old one and fail. */
  failSent(): void {
    for (const p of [...this.pending.values()]) {
      if (p.sent)
        this.settle(p.id)?.reject(
          new SignalError(SignalErrorCode.SessionExpired, "the session was lost before an answer came", p.id),
        );
    }
  }

  /** After a reconnect: every unanswered session request goes again, oldest first (Map order is insertion order). */
  requeueAll(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.pausedForRetry = false;
    this.outgoing.length = 0;
    for (const p of this.pending.values()) {
      p.retry = false;
      if (!p.oneShot) this.outgoing.push(p);
    }
    this.tokens = this.link.rate();
    this.tokensAt = Date.now();
    this.flush();
  }

  /** A frame sent outside this queue (an acknowledgement) counts against the server's rate too. */
  spendToken(): void {
    this.tokens -= 1;
  }

  /** The connection dropped: stop sending until requeueAll. Answers already owed are kept (re-sent on resume). */
  stopSending(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  /** Closed for good: every request fails with `why`. */
  rejectAll(why: SignalError): void {
    this.stopSending();
    clearTimeout(this.retryTimer);
    this.outgoing.length = 0;
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(why);
  }

  private track(body: Record<string, unknown>, timeoutMs: number, start: (p: Pending) => void): Promise<ServerMessage> {
    const id = String(this.nextId++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(p.id)?.reject(
          new SignalError(SignalErrorCode.Timeout, `no answer to ${String(body.type)} within ${timeoutMs} ms`, id),
        );
      }, timeoutMs);
      const p: Pending = {
        id,
        text: JSON.stringify({ ...body, id }),
        resolve,
        reject,
        timer,
        sent: false,
        oneShot: false,
        retry: false,
      };
      this.pending.set(id, p);
      start(p);
    });
  }

  /**
   * Sends in order, paced to the server's advertised messagesPerSecond (with a burst of one second's worth, half the
   * server's allowance), so a busy client queues instead of tripping the server's rate limit. Runs again when the
   * connection is back, or when requests refused UNAVAILABLE go again.
   */
  private flush(): void {
    if (this.flushTimer || this.pausedForRetry || !this.link.open()) return;
    const rate = this.link.rate();
    while (this.outgoing.length > 0) {
      const now = Date.now();
      this.tokens = Math.min(rate, this.tokens + ((now - this.tokensAt) / 1000) * rate);
      this.tokensAt = now;
      if (this.tokens < 1) {
        this.flushTimer = setTimeout(
          () => {
            this.flushTimer = undefined;
            this.flush();
          },
          Math.ceil(((1 - this.tokens) / rate) * 1000),
        );
        return;
      }
      const p = this.outgoing.shift()!;
      if (!this.pending.has(p.id)) continue; // timed out while waiting
      this.tokens -= 1;
      p.sent = true;
      this.link.send(p.text);
    }
  }

  private retryWhenSettled(): void {
    if (this.retryTimer || !this.pausedForRetry) return;
    for (const q of this.pending.values()) if (q.sent && !q.retry && !q.oneShot) return; // still in flight
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      const again = [...this.pending.values()].filter((q) => q.retry);
      for (const q of again) q.retry = false;
      const queued = new Set(again);
      this.outgoing.splice(0, this.outgoing.length, ...again, ...this.outgoing.filter((q) => !queued.has(q)));
      this.pausedForRetry = false;
      this.flush();
    }, this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
  }

  private settle(id: string): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(p.id);
    clearTimeout(p.timer);
    if (this.pausedForRetry) queueMicrotask(() => this.retryWhenSettled());
    return p;
  }
}
