/** Stable codes for what `joinRoom` itself refuses; signalling failures arrive as the client's `SignalError`. */
export type RoomClientErrorCode = "INVALID_OPTION" | "UNKNOWN_MEMBER";

export class RoomClientError extends Error {
  override readonly name = "RoomClientError";
  constructor(
    readonly code: RoomClientErrorCode,
    message: string,
  ) {
    super(message);
  }
}
