/** Stable error codes, sent on the wire in `error` messages and carried by SignalError locally (PROTOCOL.md). */
export const SignalErrorCode = {
  BadJson: "BAD_JSON",
  BadMessage: "BAD_MESSAGE",
  UnsupportedVersion: "UNSUPPORTED_VERSION",
  HelloRequired: "HELLO_REQUIRED",
  AlreadyGreeted: "ALREADY_GREETED",
  MessageTooLarge: "MESSAGE_TOO_LARGE",
  RateLimited: "RATE_LIMITED",
  Unauthorized: "UNAUTHORIZED",
  Forbidden: "FORBIDDEN",
  RoomFull: "ROOM_FULL",
  TooManyRooms: "TOO_MANY_ROOMS",
  NotInRoom: "NOT_IN_ROOM",
  UnknownMember: "UNKNOWN_MEMBER",
  SessionExpired: "SESSION_EXPIRED",
  Timeout: "TIMEOUT",
  Closed: "CLOSED",
  ConnectFailed: "CONNECT_FAILED",
  QueueFull: "QUEUE_FULL",
  Overloaded: "OVERLOADED",
  /** The shared session store (Redis) cannot be reached: retry the same request (same id) shortly. */
  Unavailable: "UNAVAILABLE",
  /** Local, never on the wire: createSignalServer was given an option it cannot use. */
  InvalidOption: "INVALID_OPTION",
} as const;
export type SignalErrorCode = (typeof SignalErrorCode)[keyof typeof SignalErrorCode];

export class SignalError extends Error {
  override readonly name = "SignalError";
  constructor(
    readonly code: SignalErrorCode,
    message: string,
    /** The id of the request that caused it, when the server named one. */
    readonly requestId?: string,
  ) {
    super(message);
  }
}
