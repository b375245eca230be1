export type PeerErrorCode =
  /** An ICE server URL or credential is malformed. */
  | "INVALID_ICE_SERVER"
  /** Offer/answer or candidate handling failed for a member (the connection is restarted or closed). */
  | "NEGOTIATION_FAILED"
  /** The connection to a member failed and could not be restored. */
  | "CONNECTION_FAILED"
  /** A data channel operation on a channel that is not open. */
  | "CHANNEL_CLOSED"
  /** A data channel send waited too long for buffered data to drain. */
  | "SEND_TIMEOUT"
  /** A message or option is out of range (too large, bad label). */
  | "INVALID_ARGUMENT"
  /** A constructor or factory option is malformed or out of range (the message names it and the value). */
  | "INVALID_OPTION"
  /** The member, room or peer has been closed. */
  | "CLOSED";

/** The one error class of @parley/peer; `code` is stable, `message` says what was expected and what came. */
export class PeerError extends Error {
  override readonly name = "PeerError";
  constructor(
    readonly code: PeerErrorCode,
    message: string,
    /** The member concerned, when there is one. */
    readonly memberId?: string,
  ) {
    super(message);
  }
}
