/** Every failure @parley/turn reports carries one of these stable codes. */
export type TurnErrorCode =
  | "STUN_TRUNCATED"
  | "STUN_NOT_STUN"
  | "STUN_BAD_LENGTH"
  | "STUN_BAD_ATTRIBUTE"
  | "STUN_TOO_LARGE"
  | "INVALID_OPTION"
  | "LISTEN_FAILED"
  | "CLOSED";

export class TurnError extends Error {
  override readonly name = "TurnError";
  constructor(
    readonly code: TurnErrorCode,
    message: string,
  ) {
    super(message);
  }
}
