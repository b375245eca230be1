import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Stateless nonces (RFC 8489 §9.2): the security-feature cookie, the expiry (6 base64url characters: 32-bit seconds)
 * and an HMAC of expiry and client address (9 base64url characters, 54 bits). The server keeps no table, so a flood
 * of unauthenticated requests costs CPU for one HMAC each and no memory. The secret is random per process; a restart
 * makes old nonces stale, and clients recover through 438 as RFC 8656 intends.
 *
 * Short on purpose: the nonce is most of a 401, and a 401 answers a 20-byte request from anyone — an amplifier. With
 * these sizes the 401 to a header-only request is no larger than coturn's (100 bytes for the same realm). 54 bits of
 * MAC cannot be guessed online, and a forged nonce would only skip the staleness check: the request still needs the
 * user's key for MESSAGE-INTEGRITY.
 */
/**
 * RFC 8489 §9.2.1: a nonce starting with "obMatJos2" announces the security features that follow in 4 base64
 * characters; "gAAA" is the 24-bit set with only "Password algorithms" (bit 0) on, which is what lets clients use
 * MESSAGE-INTEGRITY-SHA256 and protects PASSWORD-ALGORITHMS against downgrade.
 */
export const NONCE_COOKIE = "obMatJos2gAAA";
const EXPIRY_CHARS = 6;
const MAC_CHARS = 9;

export class NonceIssuer {
  private readonly secret: Buffer;

  constructor(
    private readonly lifetimeSeconds: number,
    secret?: Buffer,
  ) {
    this.secret = secret ?? randomBytes(32);
  }

  issue(clientAddress: string, nowMs = Date.now()): string {
    const seconds = Buffer.alloc(4);
    seconds.writeUInt32BE(Math.floor(nowMs / 1000 + this.lifetimeSeconds) >>> 0);
    const expiry = seconds.toString("base64url");
    return `${NONCE_COOKIE}${expiry}${this.mac(expiry, clientAddress)}`;
  }

  /** "ok", "stale" (well-formed and ours, but expired), or "invalid". */
  check(text: string, clientAddress: string, nowMs = Date.now()): "ok" | "stale" | "invalid" {
    if (text.length !== NONCE_COOKIE.length + EXPIRY_CHARS + MAC_CHARS || !text.startsWith(NONCE_COOKIE))
      return "invalid";
    const expiry = text.slice(NONCE_COOKIE.length, NONCE_COOKIE.length + EXPIRY_CHARS);
    const expected = Buffer.from(this.mac(expiry, clientAddress));
    const mac = Buffer.from(text.slice(NONCE_COOKIE.length + EXPIRY_CHARS));
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return "invalid";
    const seconds = Buffer.from(expiry, "base64url");
    if (seconds.length !== 4) return "invalid";
    return seconds.readUInt32BE(0) * 1000 < nowMs ? "stale" : "ok";
  }

  private mac(expiry: string, clientAddress: string): string {
    return createHmac("sha256", this.secret)
      .update(`${expiry}|${clientAddress}`)
      .digest("base64url")
      .slice(0, MAC_CHARS);
  }
}
