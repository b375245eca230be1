import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { saslprep } from "@mongodb-js/saslprep";
import { HEADER_LENGTH } from "./constants.js";
import type { StunMessage } from "./message.js";

export type IntegrityHash = "sha1" | "sha256";

/**
 * HMAC over `buf[0..attrOffset)` with the header length patched to end just after an integrity attribute of
 * `attrSize` bytes (header included) at `attrOffset` (RFC 8489 §14.5, §14.6).
 */
export function computeIntegrity(
  buf: Buffer,
  attrOffset: number,
  attrSize: number,
  hash: IntegrityHash,
  key: Buffer,
): Buffer {
  const header = Buffer.from(buf.subarray(0, HEADER_LENGTH));
  header.writeUInt16BE(attrOffset - HEADER_LENGTH + attrSize, 2);
  return createHmac(hash, key).update(header).update(buf.subarray(HEADER_LENGTH, attrOffset)).digest();
}

/** Checks MESSAGE-INTEGRITY (SHA-1). False when absent or wrong. */
export function integrityMatches(msg: StunMessage, key: Buffer): boolean {
  const at = msg.integrityOffset;
  if (at === -1 || msg.raw.readUInt16BE(at + 2) !== 20) return false;
  const expected = computeIntegrity(msg.raw, at, 24, "sha1", key);
  return timingSafeEqual(expected, msg.raw.subarray(at + 4, at + 24));
}

/**
 * Checks MESSAGE-INTEGRITY-SHA256. RFC 8489 §14.6 lets the sender truncate the MAC to 16..32 bytes in steps of 4;
 * the leftmost bytes are compared.
 */
export function integritySha256Matches(msg: StunMessage, key: Buffer): boolean {
  const at = msg.integritySha256Offset;
  if (at === -1) return false;
  const length = msg.raw.readUInt16BE(at + 2);
  if (length < 16 || length > 32 || length % 4 !== 0) return false;
  const expected = computeIntegrity(msg.raw, at, 4 + length, "sha256", key).subarray(0, length);
  return timingSafeEqual(expected, msg.raw.subarray(at + 4, at + 4 + length));
}

/** RFC 8489 §9.1.1: the short-term key is the OpaqueString-prepared password itself. */
export function shortTermKey(password: string): Buffer {
  return Buffer.from(saslprep(password), "utf8");
}

/**
 * RFC 8489 §9.2.2: the long-term key. MD5 for MESSAGE-INTEGRITY (what coturn's `0x…` user keys are), SHA-256 when
 * PASSWORD-ALGORITHM negotiated it.
 */
export function longTermKey(username: string, realm: string, password: string, algorithm: "md5" | "sha256" = "md5") {
  return createHash(algorithm)
    .update(`${username}:${saslprep(realm)}:${saslprep(password)}`, "utf8")
    .digest();
}
