/** Stable error codes, sent on the wire in `error` messages and carried by SignalError locally. */
export const SignalErrorCode = {
  BadJson: "BAD_JSON",
  BadMessage: "BAD_MESSAGE",
  UnsupportedVersion: "UNSUPPORTED_VERSION",
  HelloRequired: "HELLO_REQUIRED",
  MessageTooLarge: "MESSAGE_TOO_LARGE",
  Timeout: "TIMEOUT",
  Closed: "CLOSED",
  ConnectFailed: "CONNECT_FAILED",
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
