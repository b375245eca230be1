// RFC 8489 §14.9: a list of 16-bit attribute types the receiver did not understand, sent with a 420.
export function encodeUnknownAttributes(types: readonly number[]): Buffer {
  const out = Buffer.alloc(types.length * 2);
  for (const [i, type] of types.entries()) out.writeUInt16BE(type, i * 2);
  return out;
}

export function decodeUnknownAttributes(value: Buffer): number[] {
  const types: number[] = [];
  for (let i = 0; i + 1 < value.length; i += 2) types.push(value.readUInt16BE(i));
  return types;
}
