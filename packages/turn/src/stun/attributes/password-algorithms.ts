import { TurnError } from "../../errors.js";

// RFC 8489 §14.11-§14.12, §18.5: password algorithm numbers. Each entry on the wire is algorithm (16 bits),
// parameters length (16 bits), parameters (padded); both defined algorithms take no parameters.
export const PasswordAlgorithm = { MD5: 0x0001, SHA256: 0x0002 } as const;
export type PasswordAlgorithm = (typeof PasswordAlgorithm)[keyof typeof PasswordAlgorithm];

/** The PASSWORD-ALGORITHMS value a server offers, most preferred first. */
export function encodePasswordAlgorithms(algorithms: readonly number[]): Buffer {
  const out = Buffer.alloc(algorithms.length * 4);
  for (const [i, algorithm] of algorithms.entries()) out.writeUInt16BE(algorithm, i * 4);
  return out;
}

export function decodePasswordAlgorithms(value: Buffer): number[] {
  const out: number[] = [];
  let pos = 0;
  while (pos + 4 <= value.length) {
    out.push(value.readUInt16BE(pos));
    pos += 4 + ((value.readUInt16BE(pos + 2) + 3) & ~3);
  }
  if (pos !== value.length) throw new TurnError("STUN_BAD_ATTRIBUTE", "PASSWORD-ALGORITHMS is truncated");
  return out;
}

/** PASSWORD-ALGORITHM: the one algorithm the client chose. */
export function encodePasswordAlgorithm(algorithm: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt16BE(algorithm, 0);
  return out;
}

export function decodePasswordAlgorithm(value: Buffer): number {
  if (value.length < 4) throw new TurnError("STUN_BAD_ATTRIBUTE", `PASSWORD-ALGORITHM of ${value.length} bytes`);
  return value.readUInt16BE(0);
}
