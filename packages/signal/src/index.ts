export { SignalClient, type SignalClientEvents, type SignalClientOptions } from "./client/client.js";
export { SignalError, SignalErrorCode } from "./protocol/errors.js";
export { type ClientMessage, PROTOCOL_VERSION, type ServerMessage, type Welcome } from "./protocol/messages.js";
export { createSignalServer, SignalServer, type SignalServerOptions } from "./server/server.js";
