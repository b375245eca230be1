import type { IncomingMessage } from "node:http";
import * as v from "valibot";
import type { WebSocket } from "ws";
import { SignalErrorCode } from "../protocol/errors.js";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../protocol/json-depth.js";
import { type ClientMessage, ClientMessageSchema, describeIssues } from "../protocol/messages.js";
import type { SignalServerCounters } from "./counters.js";
import { TokenBucket } from "./rate-limit.js";
import type { SendBatcher } from "./send-batcher.js";

/** One client's WebSocket connection, as the server tracks it. */
export interface Connection {
  socket: WebSocket;
  request: IncomingMessage | undefined;
  alive: boolean;
  helloTimer: NodeJS.Timeout | undefined;
  /** Frames are handled one after another (a join must finish before the signal that follows it is routed). */
  chain: Promise<void>;
  queued: number;
  bucket: TokenBucket;
  /** Messages refused in a row for the rate limit; past a second's worth the connection is closed. */
  refusedInARow: number;
  lastRefusedAt: number;
}

/** Frames one connection may have waiting while an earlier one awaits the room store. */
export const MAX_QUEUED_FRAMES = 64;

export interface IntakeHost {
  limits: { maxMessageBytes: number; messagesPerSecond: number };
  counters: SignalServerCounters;
  batcher: SendBatcher;
  fail(conn: Connection, re: string | undefined, code: SignalErrorCode, message: string): void;
  /** A valid message; `re` is its id, for errors about it. May await (hello's auth, the room store). */
  handle(conn: Connection, msg: ClientMessage, re: string | undefined): void | Promise<void>;
}

/**
 * What happens to a client's frames before the protocol sees them: size and rate checks as they arrive (so a flood
 * never builds a backlog), one-at-a-time handling in arrival order with a bounded queue, and parsing (text, depth,
 * JSON, schema) with a precise error for each way a frame can be wrong. A handler that throws cuts that connection,
 * never the process.
 */
export class FrameIntake {
  constructor(private readonly host: IntakeHost) {}

  newConnection(socket: WebSocket, request: IncomingMessage | undefined): Connection {
    const rate = this.host.limits.messagesPerSecond;
    return {
      socket,
      request,
      alive: true,
      helloTimer: undefined,
      chain: Promise.resolve(),
      queued: 0,
      bucket: new TokenBucket(rate, rate * 2),
      refusedInARow: 0,
      lastRefusedAt: 0,
    };
  }

  /** A frame from the client. */
  receive(conn: Connection, data: Buffer | Buffer[], isBinary: boolean): void {
    if (!this.admit(conn, data)) return;
    // Most frames (signals, pings) are handled synchronously. One that awaits (hello's auth, the room store) makes
    // later frames wait their turn, so a join is complete before the signal sent after it is routed.
    if (conn.queued === 0) {
      const pending = this.safely(conn, () => this.parse(conn, data, isBinary));
      if (pending) this.track(conn, pending);
      return;
    }
    if (conn.queued >= MAX_QUEUED_FRAMES) {
      this.host.fail(conn, undefined, SignalErrorCode.Overloaded, `more than ${MAX_QUEUED_FRAMES} messages waiting`);
      this.host.batcher.closeAfterFlush(conn.socket, 1013, "overloaded");
      return;
    }
    this.track(
      conn,
      conn.chain.then(() => this.safely(conn, () => this.parse(conn, data, isBinary))),
    );
  }

  /** Size and rate checks, done as frames arrive (before queueing). */
  private admit(conn: Connection, data: Buffer | Buffer[]): boolean {
    const { limits, counters, batcher } = this.host;
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.length;
    const { socket } = conn;
    if (socket.readyState !== socket.OPEN) return false;
    if (size > limits.maxMessageBytes) {
      this.host.fail(
        conn,
        undefined,
        SignalErrorCode.MessageTooLarge,
        `frame of ${size} bytes exceeds maxMessageBytes ${limits.maxMessageBytes}`,
      );
      batcher.closeAfterFlush(socket, 1009, "message too large");
      return false;
    }
    if (!conn.bucket.take()) {
      counters.rateLimited++;
      // One error per refused message would itself be a flood: say it once, then close if the flood goes on.
      if (++conn.refusedInARow === 1) {
        this.host.fail(
          conn,
          undefined,
          SignalErrorCode.RateLimited,
          `more than ${limits.messagesPerSecond} messages per second; slow down or be disconnected`,
        );
      } else if (conn.refusedInARow > limits.messagesPerSecond) {
        batcher.closeAfterFlush(socket, 1008, "rate limit exceeded");
      }
      conn.lastRefusedAt = Date.now();
      return false;
    }
    // The flood is over only after a second without a refusal: a token that trickles back during a flood must not
    // re-arm the error (PROTOCOL.md promises one RATE_LIMITED per flood).
    if (conn.refusedInARow > 0 && Date.now() - conn.lastRefusedAt > 1000) conn.refusedInARow = 0;
    return true;
  }

  /** Runs a frame handler; a throw or rejection (a bug, a failing store) cuts this connection, never the process. */
  private safely(conn: Connection, handle: () => void | Promise<void>): Promise<void> | undefined {
    try {
      return handle()?.catch(() => conn.socket.terminate());
    } catch {
      conn.socket.terminate();
      return undefined;
    }
  }

  private track(conn: Connection, pending: Promise<void>): void {
    conn.queued++;
    conn.chain = pending.finally(() => {
      conn.queued--;
    });
  }

  private parse(conn: Connection, data: Buffer | Buffer[], isBinary: boolean): void | Promise<void> {
    const fail = (re: string | undefined, code: SignalErrorCode, message: string) =>
      this.host.fail(conn, re, code, message);
    if (isBinary) return fail(undefined, SignalErrorCode.BadMessage, "binary frame where JSON text was expected");
    const text = Array.isArray(data) ? Buffer.concat(data).toString("utf8") : data.toString("utf8");
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
      return fail(undefined, SignalErrorCode.BadMessage, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      return fail(undefined, SignalErrorCode.BadJson, `not JSON: ${(err as Error).message}`);
    }
    const parsed = v.safeParse(ClientMessageSchema, json);
    const claimedId = (json as { id?: unknown } | null)?.id;
    const re = typeof claimedId === "string" && claimedId.length <= 64 ? claimedId : undefined;
    if (!parsed.success) return fail(re, SignalErrorCode.BadMessage, describeIssues(parsed.issues));
    this.host.counters.messages[parsed.output.type]++;
    return this.host.handle(conn, parsed.output, re);
  }
}
