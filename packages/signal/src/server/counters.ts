import type { SignalErrorCode } from "../protocol/errors.js";
import type { ClientMessage } from "../protocol/messages.js";

/** What the server counts (read by `signalMetrics`; cheap increments on paths that run anyway). */
export interface SignalServerCounters {
  sessionsCreated: number;
  resumes: number;
  /** Resumes refused with SESSION_EXPIRED (unknown or expired session, or messages lost to an outbox overflow). */
  resumesRefused: number;
  /** Detached sessions whose outbox bound was exceeded (they can no longer resume). */
  outboxOverflows: number;
  /** Messages refused by the per-connection rate limit. */
  rateLimited: number;
  /** Valid client messages, by type. */
  messages: Record<ClientMessage["type"], number>;
  /** Error messages sent, by code. */
  errors: Partial<Record<SignalErrorCode, number>>;
}

export function newCounters(): SignalServerCounters {
  return {
    sessionsCreated: 0,
    resumes: 0,
    resumesRefused: 0,
    outboxOverflows: 0,
    rateLimited: 0,
    messages: { hello: 0, ping: 0, signal: 0, join: 0, leave: 0, broadcast: 0, received: 0 },
    errors: {},
  };
}
