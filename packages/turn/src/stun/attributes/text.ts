import { TurnError } from "../../errors.js";

// RFC 8489 §14.3 (USERNAME < 513 bytes), §14.9 (REALM < 763), §14.10 (NONCE < 763), §14.14 (SOFTWARE < 763).
export const TextLimit = { Username: 512, Realm: 762, Nonce: 762, Software: 762 } as const;

export function decodeText(value: Buffer, name: string, maxBytes: number): string {
  if (value.length > maxBytes) {
    throw new TurnError("STUN_BAD_ATTRIBUTE", `${name} of ${value.length} bytes exceeds ${maxBytes}`);
  }
  return value.toString("utf8");
}
