import { isIPv4, isIPv6 } from "node:net";
import { TurnError } from "../../errors.js";
import { MAGIC_COOKIE } from "../constants.js";

export interface TransportAddress {
  family: 4 | 6;
  address: string;
  port: number;
}

const FAMILY_IPV4 = 0x01;
const FAMILY_IPV6 = 0x02;

// RFC 8489 §14.2: the port is XORed with the cookie's top 16 bits, an IPv4 address with the cookie, an IPv6 address
// with cookie‖transaction id. Used by XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS and XOR-RELAYED-ADDRESS alike.
function xorKey(transactionId: Buffer): Buffer {
  const key = Buffer.allocUnsafe(16);
  key.writeUInt32BE(MAGIC_COOKIE, 0);
  transactionId.copy(key, 4);
  return key;
}

export function decodeXorAddress(value: Buffer, transactionId: Buffer): TransportAddress {
  if (value.length < 4) throw new TurnError("STUN_BAD_ATTRIBUTE", `XOR address of ${value.length} bytes is too short`);
  const family = value[1];
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  const key = xorKey(transactionId);
  if (family === FAMILY_IPV4) {
    if (value.length !== 8)
      throw new TurnError("STUN_BAD_ATTRIBUTE", `IPv4 XOR address is ${value.length} bytes, expected 8`);
    const parts: number[] = [];
    for (let i = 0; i < 4; i++) parts.push(value[4 + i]! ^ key[i]!);
    return { family: 4, address: parts.join("."), port };
  }
  if (family === FAMILY_IPV6) {
    if (value.length !== 20)
      throw new TurnError("STUN_BAD_ATTRIBUTE", `IPv6 XOR address is ${value.length} bytes, expected 20`);
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) {
      groups.push((((value[4 + i]! ^ key[i]!) << 8) | (value[5 + i]! ^ key[i + 1]!)).toString(16));
    }
    return { family: 6, address: compressIPv6(groups), port };
  }
  throw new TurnError("STUN_BAD_ATTRIBUTE", `address family 0x${(family ?? 0).toString(16)} is neither 0x01 nor 0x02`);
}

export function encodeXorAddress(addr: { address: string; port: number }, transactionId: Buffer): Buffer {
  const key = xorKey(transactionId);
  const bytes = ipToBytes(addr.address);
  const out = Buffer.alloc(4 + bytes.length);
  out[1] = bytes.length === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  out.writeUInt16BE((addr.port ^ (MAGIC_COOKIE >>> 16)) & 0xffff, 2);
  for (let i = 0; i < bytes.length; i++) out[4 + i] = bytes[i]! ^ key[i]!;
  return out;
}

/** The plain (RFC 3489) MAPPED-ADDRESS form, still read by old clients. */
export function encodeMappedAddress(addr: { address: string; port: number }): Buffer {
  const bytes = ipToBytes(addr.address);
  const out = Buffer.alloc(4 + bytes.length);
  out[1] = bytes.length === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  out.writeUInt16BE(addr.port, 2);
  bytes.copy(out, 4);
  return out;
}

export function ipToBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split(".").map(Number));
  if (isIPv6(address)) {
    // Node reports IPv4 peers on dual-stack sockets as ::ffff:a.b.c.d; keep them 16 bytes here and let policy decide.
    const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
    let text = address;
    if (v4Tail?.[1]) {
      const b = v4Tail[1].split(".").map(Number);
      text = address.replace(
        v4Tail[1],
        `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`,
      );
    }
    const [head = "", tail] = text.split("::");
    const headGroups = head ? head.split(":") : [];
    const tailGroups = tail ? tail.split(":") : [];
    const fill = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
    const groups = [...headGroups, ...new Array<string>(fill).fill("0"), ...tailGroups];
    const out = Buffer.alloc(16);
    for (const [i, g] of groups.entries()) out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
    return out;
  }
  throw new TurnError("STUN_BAD_ATTRIBUTE", `"${address}" is not an IP address`);
}

function compressIPv6(groups: string[]): string {
  // RFC 5952 §4.2: collapse the longest run (length ≥ 2) of zero groups.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === "0") j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart === -1) return groups.join(":");
  return `${groups.slice(0, bestStart).join(":")}::${groups.slice(bestStart + bestLen).join(":")}`;
}
