import { TurnError } from "../../errors.js";

// RFC 8489 §14.8, RFC 8656 §18, RFC 6062 §6.3: the codes a STUN/TURN server answers with, and their reason phrases.
export const ErrorCode = {
  TryAlternate: 300,
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  UnknownAttribute: 420,
  AllocationMismatch: 437,
  StaleNonce: 438,
  AddressFamilyNotSupported: 440,
  WrongCredentials: 441,
  UnsupportedTransportProtocol: 442,
  PeerAddressFamilyMismatch: 443,
  ConnectionAlreadyExists: 446,
  ConnectionTimeoutOrFailure: 447,
  AllocationQuotaReached: 486,
  RoleConflict: 487,
  ServerError: 500,
  InsufficientCapacity: 508,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const reasonPhrases: Record<ErrorCode, string> = {
  300: "Try Alternate",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  420: "Unknown Attribute",
  437: "Allocation Mismatch",
  438: "Stale Nonce",
  440: "Address Family not Supported",
  441: "Wrong Credentials",
  442: "Unsupported Transport Protocol",
  443: "Peer Address Family Mismatch",
  446: "Connection Already Exists",
  447: "Connection Timeout or Failure",
  486: "Allocation Quota Reached",
  487: "Role Conflict",
  500: "Server Error",
  508: "Insufficient Capacity",
};

export function encodeErrorCode(code: number, reason?: string): Buffer {
  const text = Buffer.from(reason ?? reasonPhrases[code as ErrorCode] ?? "Error", "utf8").subarray(0, 763);
  const out = Buffer.alloc(4 + text.length);
  out[2] = Math.floor(code / 100);
  out[3] = code % 100;
  text.copy(out, 4);
  return out;
}

/** RFC 8656 §18.13 ADDRESS-ERROR-CODE: which family of a dual allocation failed, and why. */
export function encodeAddressErrorCode(family: 4 | 6, code: number, reason?: string): Buffer {
  const value = encodeErrorCode(code, reason);
  value[0] = family === 6 ? 0x02 : 0x01;
  return value;
}

export function decodeErrorCode(value: Buffer): { code: number; reason: string } {
  if (value.length < 4) throw new TurnError("STUN_BAD_ATTRIBUTE", `ERROR-CODE of ${value.length} bytes is too short`);
  const hundreds = value[2]! & 0x07;
  const number = value[3]!;
  if (hundreds < 3 || hundreds > 6 || number > 99) {
    throw new TurnError("STUN_BAD_ATTRIBUTE", `ERROR-CODE class ${hundreds} number ${number} is out of range`);
  }
  return { code: hundreds * 100 + number, reason: value.subarray(4).toString("utf8") };
}
