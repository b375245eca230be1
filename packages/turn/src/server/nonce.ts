import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Stateless nonces (RFC 8489 §9.2): "<expiry in hex seconds>.<HMAC(expiry, client address)>". The server keeps no
 * table, so a flood of unauthenticated requests costs CPU for one HMAC each and no memory. The secret is random per
 * process; a restart makes old nonces stale, and clients recover through 438 as RFC 8656 intends.
 */
export class NonceIssuer {
  private readonly secret: Buffer;

  constructor(
    private readonly lifetimeSeconds: number,
    secret?: Buffer,
  ) {
    this.secret = secret ?? randomBytes(32);
  }

  issue(clientAddress: string, nowMs = Date.now()): string {
    const expiry = Math.floor(nowMs / 1000 + this.lifetimeSeconds).toString(16);
    return `${expiry}.${this.mac(expiry, clientAddress)}`;
  }

  /** "ok", "stale" (well-formed and ours, but expired), or "invalid". */
  check(nonce: string, clientAddress: string, nowMs = Date.now()): "ok" | "stale" | "invalid" {
    const dot = nonce.indexOf(".");
    if (dot < 1 || dot > 12) return "invalid";
    const expiry = nonce.slice(0, dot);
    const expected = Buffer.from(this.mac(expiry, clientAddress));
    const given = Buffer.from(nonce.slice(dot + 1));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "invalid";
    return Number.parseInt(expiry, 16) * 1000 < nowMs ? "stale" : "ok";
  }

  private mac(expiry: string, clientAddress: string): string {
    return createHmac("sha256", this.secret).update(`${expiry}|${clientAddress}`).digest("base64url").slice(0, 22);
  }
}
