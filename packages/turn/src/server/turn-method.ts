import type { StunMessage } from "../stun/message.js";
import type { Authenticated } from "./authenticate.js";
import type { ClientLink } from "./client-link.js";

/** How responses to an authenticated request are signed: with the request's key and integrity algorithm. */
export type Reply = { key: Buffer | undefined; sha256: boolean; fingerprint: boolean };

/** Answers one authenticated TURN request: the response to send, or undefined when it is sent later or never. */
export type TurnMethodHandler = (
  msg: StunMessage,
  link: ClientLink,
  auth: Authenticated,
  reply: Reply,
) => Buffer | undefined | Promise<Buffer | undefined>;
