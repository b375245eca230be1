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

/**
 * The token's claims, or a reason it is refused. The header is parsed as JSON, as JWT libraries write it (jose's
 * `{"alg":"HS256"}`, any key order, a `kid`): only `alg` must be HS256, `typ` if present must be "JWT", and a `crit`
 * header is refused (RFC 7515 §4.1.11: extensions this verifier does not understand).
 */
export function verifyToken(secret: string, token: string, nowMs = Date.now()): TokenClaims | string {
  const parts = token.split(".");
  if (parts.length !== 3) return "malformed token (expected an HS256 JWT: header.claims.signature)";
  const header = parseJson(parts[0]!);
  if (header === undefined || typeof header !== "object" || header === null || Array.isArray(header))
    return "malformed token header (not base64url JSON)";
  const { alg, typ, crit } = header as { alg?: unknown; typ?: unknown; crit?: unknown };
  if (alg !== "HS256") return `token alg must be HS256, got ${JSON.stringify(alg ?? null)}`;
  if (typ !== undefined && typ !== "JWT") return `token typ must be "JWT" when present, got ${JSON.stringify(typ)}`;
  if (crit !== undefined) return "token header has crit extensions this server does not understand";
  const expected = createHmac("sha256", secret).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2]!, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "bad signature";
  const claims = parseJson(parts[1]!) as TokenClaims | undefined;
  if (claims === undefined || typeof claims !== "object" || claims === null || Array.isArray(claims))
    return "malformed token body";
  if (typeof claims.sub !== "string" || claims.sub.length === 0 || typeof claims.exp !== "number")
    return "token lacks sub (a non-empty string) or exp (unix seconds)";
  const rooms = claims.rooms;
  if (
    rooms !== undefined &&
    (!Array.isArray(rooms) || rooms.some((r) => typeof r !== "string" || r.length === 0 || r.length > 128))
  )
    return "token claim rooms must be an array of room names or prefixes ending in *";
  if (claims.broadcast !== undefined && typeof claims.broadcast !== "boolean")
    return "token claim broadcast must be true or false";
  if (claims.exp * 1000 < nowMs) return "token expired";
  return claims;
}

function parseJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
}
