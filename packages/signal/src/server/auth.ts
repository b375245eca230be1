import type { IncomingMessage } from "node:http";
import { type TokenClaims, verifyToken } from "./tokens.js";

/** What an authenticated connection may do. */
export interface Grant {
  /** Who this is (shown to nobody else; member ids are session ids). */
  identity: string;
  /** Rooms it may join: exact names, or prefixes ending in "*"; "*" alone for any room. */
  rooms: readonly string[];
  canBroadcast: boolean;
  /**
   * When the grant ends (ms since the epoch; the token's `exp`). A session may be resumed until then; after it,
   * only with a fresh token for the same identity. Undefined: no end.
   */
  expiresAt?: number;
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
  return {
    identity: claims.sub,
    rooms: claims.rooms ?? ["*"],
    canBroadcast: claims.broadcast !== false,
    expiresAt: claims.exp * 1000,
  };
}

export function mayJoin(grant: Grant, room: string): boolean {
  return grant.rooms.some((pattern) =>
    pattern.endsWith("*") ? room.startsWith(pattern.slice(0, -1)) : pattern === room,
  );
}

/**
 * Why a grant (from the token or an `authenticate` hook) cannot be used, or undefined. Checked at hello, so a bad
 * grant is refused there with UNAUTHORIZED instead of failing later, at join.
 */
export function grantProblem(grant: Grant): string | undefined {
  if (typeof grant !== "object" || grant === null) return "the grant is not an object";
  if (typeof grant.identity !== "string" || grant.identity.length === 0) return "the grant has no identity";
  if (!Array.isArray(grant.rooms) || grant.rooms.some((r) => typeof r !== "string" || r.length === 0))
    return "the grant's rooms must be an array of room names or prefixes ending in *";
  if (typeof grant.canBroadcast !== "boolean") return "the grant's canBroadcast must be true or false";
  if (grant.expiresAt !== undefined && !Number.isFinite(grant.expiresAt)) return "the grant's expiresAt is not a time";
  return undefined;
}
