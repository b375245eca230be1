import type { IncomingMessage } from "node:http";
import { type TokenClaims, verifyToken } from "./tokens.js";

/** What an authenticated connection may do. */
export interface Grant {
  /** Who this is (shown to nobody else; member ids are session ids). */
  identity: string;
  /** Rooms it may join: exact names, or prefixes ending in "*"; "*" alone for any room. */
  rooms: readonly string[];
  canBroadcast: boolean;
}

/**
 * The authenticate hook: turns the hello's token (and the upgrade request, for cookies or headers) into a Grant, or
 * a string saying why it is refused. The default, with no hook and no secret, lets anyone in anywhere.
 */
export type Authenticate = (
  token: string | undefined,
  request: IncomingMessage | undefined,
) => Grant | string | Promise<Grant | string>;

export const openAccess: Authenticate = () => ({ identity: "anonymous", rooms: ["*"], canBroadcast: true });

/** The built-in secure default: HS256 tokens made by `signToken(secret, { sub, rooms })`. */
export function tokenAuthenticator(secret: string): Authenticate {
  return (token) => {
    if (!token) return "a token is required";
    const claims = verifyToken(secret, token);
    if (typeof claims === "string") return claims;
    return grantFromClaims(claims);
  };
}

function grantFromClaims(claims: TokenClaims): Grant {
  return { identity: claims.sub, rooms: claims.rooms ?? ["*"], canBroadcast: claims.broadcast !== false };
}

export function mayJoin(grant: Grant, room: string): boolean {
  return grant.rooms.some((pattern) =>
    pattern.endsWith("*") ? room.startsWith(pattern.slice(0, -1)) : pattern === room,
  );
}
