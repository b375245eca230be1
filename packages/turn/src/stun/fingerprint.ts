import { crc32 } from "node:zlib";
import { HEADER_LENGTH } from "./constants.js";
import type { StunMessage } from "./message.js";

// RFC 8489 §14.7: CRC-32 of the message up to the FINGERPRINT attribute, XORed with this ("STUN").
const FINGERPRINT_XOR = 0x5354554e;

/**
 * CRC over `buf[0..attrOffset)` as if the header's length field already counted the 8-byte FINGERPRINT attribute.
 * The header is patched on a 20-byte copy so the caller's buffer is never modified.
 */
export function computeFingerprint(buf: Buffer, attrOffset: number): number {
  const header = Buffer.from(buf.subarray(0, HEADER_LENGTH));
  header.writeUInt16BE(attrOffset - HEADER_LENGTH + 8, 2);
  const crc = crc32(buf.subarray(HEADER_LENGTH, attrOffset), crc32(header));
  return (crc ^ FINGERPRINT_XOR) >>> 0;
}

/** True when the message has no FINGERPRINT or a correct one; false means the datagram must be dropped. */
export function fingerprintMatches(msg: StunMessage): boolean {
  if (msg.fingerprintOffset === -1) return true;
  const slot = msg.fingerprintOffset;
  if (msg.raw.readUInt16BE(slot + 2) !== 4) return false;
  return msg.raw.readUInt32BE(slot + 4) === computeFingerprint(msg.raw, slot);
}
