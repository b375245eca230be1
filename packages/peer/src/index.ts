export { PeerError, type PeerErrorCode } from "./errors.js";
export { type IceServer, toWeriftIceServers } from "./ice-servers.js";
