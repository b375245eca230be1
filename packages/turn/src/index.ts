export { type Authenticate, staticCredentials } from "./auth/credentials.js";
export { restCredentials, restPassword } from "./auth/rest-credentials.js";
export { type Peer, TurnClient, type TurnClientEvents, type TurnClientOptions } from "./client/client.js";
export { parseTurnUrl } from "./client/probe.js";
export { TurnError, type TurnErrorCode } from "./errors.js";
export { turnMetrics } from "./server/metrics.js";
export { PeerPolicy, type PeerPolicyOptions, type PeerRule } from "./server/peer-policy.js";
export {
  type AllocationInfo,
  createTurnServer,
  TurnServer,
  type TurnServerCounters,
  type TurnServerEvents,
  type TurnServerOptions,
} from "./server/server.js";
export { decodeErrorCode, ErrorCode } from "./stun/attributes/error-code.js";
export { decodeXorAddress, encodeXorAddress, type TransportAddress } from "./stun/attributes/xor-address.js";
export { AttributeType, MAGIC_COOKIE, StunClass, StunMethod } from "./stun/constants.js";
export { fingerprintMatches } from "./stun/fingerprint.js";
export { integrityMatches, integritySha256Matches, longTermKey, shortTermKey } from "./stun/integrity.js";
export { type AttributeSlot, decodeMessage, looksLikeStun, MessageBuilder, StunMessage } from "./stun/message.js";
