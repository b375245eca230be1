/** Why a WHIP/WHEP request was refused: the HTTP status, a stable code and a message saying what was expected. */
export type WhipErrorCode =
  | "BAD_REQUEST"
  | "BAD_SDP"
  | "BAD_SDPFRAG"
  | "BAD_ROOM"
  | "NO_COMMON_CODEC"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "PAYLOAD_TOO_LARGE"
  | "PRECONDITION_FAILED"
  | "PRECONDITION_REQUIRED"
  | "ROOM_FULL"
  | "TOO_MANY_REQUESTS"
  | "AT_CAPACITY"
  | "SIGNAL_UNAVAILABLE"
  | "ICE_RESTART_FAILED"
  | "INTERNAL_ERROR";

export class WhipError extends Error {
  override readonly name = "WhipError";
  constructor(
    readonly status: number,
    readonly code: WhipErrorCode,
    message: string,
    /** Extra response headers (Allow, Retry-After, WWW-Authenticate). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}
