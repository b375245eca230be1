import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Stateless nonces (RFC 8489 §9.2): "<expiry in hex seconds>.<HMAC(expiry, client address)>". The server keeps no
 * table, so a flood of unauthenticated requests costs CPU for one HMAC each and no memory. The secret is random per
 * process; a restart makes old nonces stale, and clients recover through 438 as RFC 8656 intends.
 */
/**
 * RFC 8489 §9.2.1: a nonce starting with "obMatJos2" announces the security features that follow in 4 base64
 * characters; "gAAA" is the 24-bit set with only "Password algorithms" (bit 0) on, which is what lets clients use
 * MESSAGE-INTEGRITY-SHA256 and protects PASSWORD-ALGORITHMS against downgrade.
 */
export const NONCE_COOKIE = "obMatJos2gAAA";

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
    return `${NONCE_COOKIE}${expiry}.${this.mac(expiry, clientAddress)}`;
  }

  /** "ok", "stale" (well-formed and ours, but expired), or "invalid". */
  check(text: string, clientAddress: string, nowMs = Date.now()): "ok" | "stale" | "invalid" {
    if (!text.startsWith(NONCE_COOKIE)) return "invalid";
    const nonce = text.slice(NONCE_COOKIE.length);
    const dot = nonce.indexOf(".");
    if (dot < 1 || dot > 12) return "invalid";
    const expiry = nonce.slice(0, dot);
    const expected = Buffer.from(this.mac(expiry, clientAddress));
    const mac = Buffer.from(nonce.slice(dot + 1));
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return "invalid";
    return Number.parseInt(expiry, 16) * 1000 < nowMs ? "stale" : "ok";
  }

  private mac(expiry: string, clientAddress: string): string {
    return createHmac("sha256", this.secret).update(`${expiry}|${clientAddress}`).digest("base64url").slice(0, 22);
  }
}
