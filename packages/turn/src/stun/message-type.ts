import { type StunClass, StunMethod } from "./constants.js";

// RFC 8489 §5: the 14-bit type field interleaves the 2 class bits (C1 at bit 8, C0 at bit 4) with the 12 method bits.
export function encodeMessageType(method: number, cls: StunClass): number {
  return (
    ((method & 0xf80) << 2) | ((method & 0x070) << 1) | (method & 0x00f) | ((cls & 0b10) << 7) | ((cls & 0b01) << 4)
  );
}

export function decodeMessageType(type: number): { method: number; cls: StunClass } {
  const method = ((type & 0x3e00) >> 2) | ((type & 0x00e0) >> 1) | (type & 0x000f);
  const cls = (((type & 0x0100) >> 7) | ((type & 0x0010) >> 4)) as StunClass;
  return { method, cls };
}

const methodNames = new Map<number, string>(Object.entries(StunMethod).map(([name, value]) => [value, name]));

export function methodName(method: number): string {
  return methodNames.get(method) ?? `0x${method.toString(16).padStart(3, "0")}`;
}
