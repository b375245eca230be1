export type { ReconnectOptions } from "./client/backoff.js";
export {
  type RoomState,
  SignalClient,
  type SignalClientEvents,
  type SignalClientOptions,
  type SignalUrl,
} from "./client/client.js";
export { SignalError, SignalErrorCode } from "./protocol/errors.js";
export {
  type BroadcastMessage,
  type ClientMessage,
  type IceServer,
  type Member,
  PROTOCOL_VERSION,
  type ServerMessage,
  type SignalKind,
  type SignalMessage,
  type Welcome,
} from "./protocol/messages.js";
export { adminHandler } from "./server/admin.js";
export type { Authenticate, Grant } from "./server/auth.js";
export type { SignalServerCounters } from "./server/counters.js";
export { metricsHandler, signalMetrics } from "./server/metrics.js";
export { MemoryRoomStore, type RoomStore } from "./server/rooms.js";
export {
  createSignalServer,
  SignalServer,
  type SignalServerOptions,
} from "./server/server.js";
export { signToken, type TokenClaims, verifyToken } from "./server/tokens.js";
export { type TurnCredentialOptions, turnIceServers } from "./server/turn-credentials.js";
