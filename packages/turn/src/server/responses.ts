import { encodeErrorCode } from "../stun/attributes/error-code.js";
import { encodeUnknownAttributes } from "../stun/attributes/unknown-attributes.js";
import { AttributeType, StunClass } from "../stun/constants.js";
import { MessageBuilder, type StunMessage } from "../stun/message.js";

export interface ErrorResponseOptions {
  reason?: string | undefined;
  unknownAttributes?: readonly number[] | undefined;
  software?: string | undefined;
  fingerprint?: boolean | undefined;
  integrityKey?: Buffer | undefined;
  integritySha256Key?: Buffer | undefined;
  /** Attributes placed before SOFTWARE, e.g. REALM and NONCE on a 401/438. */
  extra?: ReadonlyArray<readonly [number, Buffer]> | undefined;
}

/** RFC 8489 §6.3.1.1: an error response to `request` carrying ERROR-CODE (and UNKNOWN-ATTRIBUTES for a 420). */
export function errorResponse(request: StunMessage, code: number, options: ErrorResponseOptions = {}): Buffer {
  const response = new MessageBuilder(request.method, StunClass.ErrorResponse, request.transactionId).add(
    AttributeType.ErrorCode,
    encodeErrorCode(code, options.reason),
  );
  if (options.unknownAttributes?.length) {
    response.add(AttributeType.UnknownAttributes, encodeUnknownAttributes(options.unknownAttributes));
  }
  for (const [type, value] of options.extra ?? []) response.add(type, value);
  if (options.software) response.add(AttributeType.Software, Buffer.from(options.software, "utf8"));
  return response.build({
    integrityKey: options.integrityKey,
    integritySha256Key: options.integritySha256Key,
    fingerprint: options.fingerprint,
  });
}

/** A 32-bit attribute value (LIFETIME, CONNECTION-ID). */
export function u32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}
