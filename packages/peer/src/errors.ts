export type PeerErrorCode = "INVALID_ICE_SERVER";

export class PeerError extends Error {
  override readonly name = "PeerError";
  constructor(
    readonly code: PeerErrorCode,
    message: string,
  ) {
    super(message);
  }
}
