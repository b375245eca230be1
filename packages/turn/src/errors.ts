/** Every failure @parley/turn reports carries one of these stable codes. */
export type TurnErrorCode =
  | "STUN_TRUNCATED"
  | "STUN_NOT_STUN"
  | "STUN_BAD_LENGTH"
  | "STUN_BAD_ATTRIBUTE"
  | "STUN_TOO_LARGE"
  | "INVALID_OPTION"
  | "LISTEN_FAILED"
  | "CLOSED"
  | "CONNECT_FAILED"
  | "TIMEOUT"
  | "ERROR_RESPONSE"
  | "AUTH_FAILED";

export class TurnError extends Error {
  override readonly name = "TurnError";
  constructor(
    readonly code: TurnErrorCode,
    message: string,
    /** For ERROR_RESPONSE and AUTH_FAILED: the STUN error code the server answered with (401, 403, 437, …). */
    readonly stunCode?: number,
  ) {
    super(message);
  }
}
