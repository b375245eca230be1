import { createHmac, timingSafeEqual } from "node:crypto";

/** What a Parley token grants: who the bearer is and which rooms it may join ("*" suffix = prefix match). */
export interface TokenClaims {
  sub: string;
  rooms?: string[];
  /** May the bearer broadcast to a room? Default true. */
  broadcast?: boolean;
  /** Unix seconds. */
  exp: number;
  [claim: string]: unknown;
}

const b64 = (data: Buffer | string) => Buffer.from(data).toString("base64url");
const HEADER = b64(JSON.stringify({ alg: "HS256", typ: "JWT" }));

/**
 * Signs an HS256 JWT (RFC 7519) with `secret`. A few lines of node:crypto rather than a JWT library: only HS256 is
 * accepted, which removes the "alg" confusion attacks a general-purpose verifier has to defend against.
 */
export function signToken(secret: string, claims: Omit<TokenClaims, "exp">, ttlSeconds = 3600): string {
  const body = b64(JSON.stringify({ ...claims, exp: Math.floor(Date.now() / 1000) + ttlSeconds }));
  return `${HEADER}.${body}.${b64(createHmac("sha256", secret).update(`${HEADER}.${body}`).digest())}`;
}

/** The token's claims, or a reason it is refused ("malformed", "bad signature", "expired"). */
export function verifyToken(secret: string, token: string, nowMs = Date.now()): TokenClaims | string {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== HEADER) return "malformed token (expected an HS256 JWT)";
  const expected = createHmac("sha256", secret).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2]!, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "bad signature";
  let claims: TokenClaims;
  try {
    claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as TokenClaims;
  } catch {
    return "malformed token body";
  }
  if (typeof claims.sub !== "string" || typeof claims.exp !== "number") return "token lacks sub or exp";
  if (claims.exp * 1000 < nowMs) return "token expired";
  return claims;
}
