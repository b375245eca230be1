// The browser entry: the client and the protocol types, none of the server (which needs Node).

export { SignalError, SignalErrorCode } from "../protocol/errors.js";
export {
  type BroadcastMessage,
  type IceServer,
  type Member,
  PROTOCOL_VERSION,
  type SignalKind,
  type SignalMessage,
  type Welcome,
} from "../protocol/messages.js";
export type { ReconnectOptions } from "./backoff.js";
export {
  type RoomState,
  SignalClient,
  type SignalClientEvents,
  type SignalClientOptions,
  type SignalUrl,
} from "./client.js";
