import { TurnError } from "../errors.js";
import {
  AttributeType,
  HEADER_LENGTH,
  MAGIC_COOKIE,
  MAX_MESSAGE_LENGTH,
  type StunClass,
  TRANSACTION_ID_LENGTH,
} from "./constants.js";
import { computeFingerprint } from "./fingerprint.js";
import { computeIntegrity } from "./integrity.js";
import { decodeMessageType, encodeMessageType } from "./message-type.js";

/** Where one attribute's value sits inside the message buffer; decoding never copies values. */
export interface AttributeSlot {
  readonly type: number;
  /** Offset of the value (after the 4-byte attribute header) in `StunMessage.raw`. */
  readonly offset: number;
  readonly length: number;
}

/** More attributes than any real message carries; a cap so a hostile 64 KiB message of empty attributes costs little. */
export const MAX_ATTRIBUTES = 64;

/** A decoded STUN message: a view over the bytes it came in, plus an index of its attributes. */
export class StunMessage {
  constructor(
    readonly raw: Buffer,
    readonly method: number,
    readonly cls: StunClass,
    readonly attributes: readonly AttributeSlot[],
    /** Offset of the MESSAGE-INTEGRITY attribute header, or -1. */
    readonly integrityOffset: number,
    /** Offset of the MESSAGE-INTEGRITY-SHA256 attribute header, or -1. */
    readonly integritySha256Offset: number,
    /** Offset of the FINGERPRINT attribute header, or -1. */
    readonly fingerprintOffset: number,
  ) {}

  get transactionId(): Buffer {
    return this.raw.subarray(8, HEADER_LENGTH);
  }

  /** The value of the first attribute of `type`, as a view into `raw`. */
  get(type: number): Buffer | undefined {
    for (const slot of this.attributes) {
      if (slot.type === type) return this.raw.subarray(slot.offset, slot.offset + slot.length);
    }
    return undefined;
  }

  has(type: number): boolean {
    return this.attributes.some((slot) => slot.type === type);
  }
}

/** Cheap test used to demultiplex STUN from ChannelData and media on a shared socket (RFC 7983, RFC 8489 §6). */
export function looksLikeStun(buf: Buffer): boolean {
  return buf.length >= HEADER_LENGTH && (buf[0]! & 0xc0) === 0 && buf.readUInt32BE(4) === MAGIC_COOKIE;
}

/**
 * Decodes one whole STUN message. Throws a TurnError whose message says what was expected and what came; the caller
 * decides whether that means an error response or a silent drop (RFC 8489 §6.3: malformed messages are discarded).
 */
export function decodeMessage(buf: Buffer): StunMessage {
  if (buf.length < HEADER_LENGTH) {
    throw new TurnError(
      "STUN_TRUNCATED",
      `message of ${buf.length} bytes is shorter than the ${HEADER_LENGTH}-byte header`,
    );
  }
  if (buf.length > MAX_MESSAGE_LENGTH) {
    throw new TurnError("STUN_TOO_LARGE", `message of ${buf.length} bytes exceeds ${MAX_MESSAGE_LENGTH}`);
  }
  const type = buf.readUInt16BE(0);
  if ((type & 0xc000) !== 0) {
    throw new TurnError("STUN_NOT_STUN", `first two bits are ${type >> 14}, STUN requires 0`);
  }
  const cookie = buf.readUInt32BE(4);
  if (cookie !== MAGIC_COOKIE) {
    throw new TurnError("STUN_NOT_STUN", `magic cookie is 0x${cookie.toString(16)}, expected 0x2112a442`);
  }
  const bodyLength = buf.readUInt16BE(2);
  if (bodyLength % 4 !== 0) {
    throw new TurnError("STUN_BAD_LENGTH", `message length ${bodyLength} is not a multiple of 4`);
  }
  if (HEADER_LENGTH + bodyLength !== buf.length) {
    throw new TurnError(
      "STUN_BAD_LENGTH",
      `header says ${bodyLength} bytes of attributes, ${buf.length - HEADER_LENGTH} arrived`,
    );
  }

  const attributes: AttributeSlot[] = [];
  let integrityOffset = -1;
  let integritySha256Offset = -1;
  let fingerprintOffset = -1;
  let pos = HEADER_LENGTH;
  while (pos < buf.length) {
    if (buf.length - pos < 4) {
      throw new TurnError("STUN_BAD_ATTRIBUTE", `attribute header at offset ${pos} is truncated`);
    }
    const attrType = buf.readUInt16BE(pos);
    const length = buf.readUInt16BE(pos + 2);
    const padded = (length + 3) & ~3;
    if (pos + 4 + padded > buf.length) {
      throw new TurnError(
        "STUN_BAD_ATTRIBUTE",
        `attribute 0x${attrType.toString(16)} at offset ${pos} claims ${length} bytes, only ${buf.length - pos - 4} remain`,
      );
    }
    if (attributes.length >= MAX_ATTRIBUTES) {
      throw new TurnError("STUN_BAD_ATTRIBUTE", `more than ${MAX_ATTRIBUTES} attributes`);
    }
    // RFC 8489 §14.5/§14.7: after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count; after
    // FINGERPRINT nothing does. Later attributes are ignored, not indexed, so no handler can be fooled by them.
    const ignored =
      fingerprintOffset !== -1 ||
      (integrityOffset !== -1 &&
        attrType !== AttributeType.MessageIntegritySha256 &&
        attrType !== AttributeType.Fingerprint) ||
      (integritySha256Offset !== -1 && attrType !== AttributeType.Fingerprint);
    if (!ignored) {
      if (attrType === AttributeType.MessageIntegrity) integrityOffset = pos;
      else if (attrType === AttributeType.MessageIntegritySha256) integritySha256Offset = pos;
      else if (attrType === AttributeType.Fingerprint) fingerprintOffset = pos;
      attributes.push({ type: attrType, offset: pos + 4, length });
    }
    pos += 4 + padded;
  }
  const { method, cls } = decodeMessageType(type);
  return new StunMessage(buf, method, cls, attributes, integrityOffset, integritySha256Offset, fingerprintOffset);
}

/** Options for the attributes `MessageBuilder.build` appends last, in the order RFC 8489 §14 requires. */
export interface SealOptions {
  /** Key for MESSAGE-INTEGRITY (HMAC-SHA1). */
  integrityKey?: Buffer | undefined;
  /** Key for MESSAGE-INTEGRITY-SHA256 (HMAC-SHA256). */
  integritySha256Key?: Buffer | undefined;
  fingerprint?: boolean | undefined;
}

/** Builds one STUN message; attributes are appended in call order, each padded to 4 bytes with zeros. */
export class MessageBuilder {
  private readonly chunks: Buffer[] = [];
  private bodyLength = 0;

  constructor(
    readonly method: number,
    readonly cls: StunClass,
    readonly transactionId: Buffer,
  ) {
    if (transactionId.length !== TRANSACTION_ID_LENGTH) {
      throw new TurnError(
        "STUN_BAD_ATTRIBUTE",
        `transaction id is ${transactionId.length} bytes, expected ${TRANSACTION_ID_LENGTH}`,
      );
    }
  }

  add(type: number, value: Buffer): this {
    if (value.length > 0xffff) {
      throw new TurnError("STUN_TOO_LARGE", `attribute 0x${type.toString(16)} of ${value.length} bytes exceeds 65535`);
    }
    const padded = (value.length + 3) & ~3;
    const chunk = Buffer.alloc(4 + padded);
    chunk.writeUInt16BE(type, 0);
    chunk.writeUInt16BE(value.length, 2);
    value.copy(chunk, 4);
    this.chunks.push(chunk);
    this.bodyLength += chunk.length;
    if (HEADER_LENGTH + this.bodyLength > MAX_MESSAGE_LENGTH) {
      throw new TurnError("STUN_TOO_LARGE", `message would exceed ${MAX_MESSAGE_LENGTH} bytes`);
    }
    return this;
  }

  build(seal: SealOptions = {}): Buffer {
    const trailer = (seal.integrityKey ? 24 : 0) + (seal.integritySha256Key ? 36 : 0) + (seal.fingerprint ? 8 : 0);
    const out = Buffer.allocUnsafe(HEADER_LENGTH + this.bodyLength + trailer);
    out.writeUInt16BE(encodeMessageType(this.method, this.cls), 0);
    out.writeUInt16BE(this.bodyLength, 2);
    out.writeUInt32BE(MAGIC_COOKIE, 4);
    this.transactionId.copy(out, 8);
    let pos = HEADER_LENGTH;
    for (const chunk of this.chunks) {
      chunk.copy(out, pos);
      pos += chunk.length;
    }
    if (seal.integrityKey) pos = appendIntegrity(out, pos, AttributeType.MessageIntegrity, "sha1", seal.integrityKey);
    if (seal.integritySha256Key) {
      pos = appendIntegrity(out, pos, AttributeType.MessageIntegritySha256, "sha256", seal.integritySha256Key);
    }
    if (seal.fingerprint) pos = appendFingerprint(out, pos);
    out.writeUInt16BE(pos - HEADER_LENGTH, 2);
    return out;
  }
}

function appendIntegrity(out: Buffer, pos: number, type: number, hash: "sha1" | "sha256", key: Buffer): number {
  const size = hash === "sha1" ? 20 : 32;
  const mac = computeIntegrity(out, pos, size + 4, hash, key);
  out.writeUInt16BE(type, pos);
  out.writeUInt16BE(size, pos + 2);
  mac.copy(out, pos + 4);
  return pos + 4 + size;
}

function appendFingerprint(out: Buffer, pos: number): number {
  const crc = computeFingerprint(out, pos);
  out.writeUInt16BE(AttributeType.Fingerprint, pos);
  out.writeUInt16BE(4, pos + 2);
  out.writeUInt32BE(crc, pos + 4);
  return pos + 8;
}
