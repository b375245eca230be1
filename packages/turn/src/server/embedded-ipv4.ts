import { isIPv6 } from "node:net";

/**
 * The IPv4 addresses an IPv6 address carries, for the forms that reach an IPv4 host through a translator or tunnel.
 * A peer policy that checks only the IPv6 rules lets `64:ff9b::7f00:1` (NAT64 of 127.0.0.1) or `2002:7f00:1::`
 * (6to4 of it) through to the host's loopback, so each embedded address is checked against the IPv4 rules too.
 *
 * - IPv4-compatible `::a.b.c.d` (RFC 4291 §2.5.5.1, deprecated; `::` and `::1` are not this form)
 * - NAT64 well-known prefix `64:ff9b::/96` (RFC 6052 §2.1), last 32 bits
 * - NAT64 local-use `64:ff9b:1::/48` (RFC 8215), with the IPv4 address placed as RFC 6052 §2.2 does for a /48
 * - 6to4 `2002::/16` (RFC 3056 §2), bits 16–47
 * - Teredo `2001:0::/32` (RFC 4380 §4): the server's address in bits 32–63, the client's in bits 96–127 inverted
 *
 * IPv4-mapped `::ffff:a.b.c.d` is left out: Node's BlockList already matches it against IPv4 rules.
 */
export function embeddedIPv4(address: string): string[] {
  if (!isIPv6(address)) return [];
  const words = expand(address);
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const [w0, w1, w2, w3, w4, w5, w6, w7] = words as [number, number, number, number, number, number, number, number];
  if (w0 === 0 && w1 === 0 && w2 === 0 && w3 === 0 && w4 === 0 && w5 === 0 && (w6 !== 0 || w7 > 1)) return [v4(w6, w7)];
  if (w0 === 0x64 && w1 === 0xff9b && w2 === 0 && w3 === 0 && w4 === 0 && w5 === 0) return [v4(w6, w7)];
  // Local-use NAT64: the operator picks the prefix length, so both RFC 6052 layouts are read — /48 (octets 6–7 and
  // 9–10; octet 8 is the reserved "u" byte) and /96 (the last 32 bits) — skipping one whose fields are all zero.
  if (w0 === 0x64 && w1 === 0xff9b && w2 === 1) {
    const layouts = [
      [w3, ((w4 & 0xff) << 8) | (w5 >> 8)],
      [w6, w7],
    ] as const;
    return layouts.filter(([hi, lo]) => hi !== 0 || lo !== 0).map(([hi, lo]) => v4(hi, lo));
  }
  if (w0 === 0x2002) return [v4(w1, w2)];
  if (w0 === 0x2001 && w1 === 0) return [v4(w2, w3), v4(w6 ^ 0xffff, w7 ^ 0xffff)];
  return [];
}

/** The eight 16-bit words of an IPv6 address (with "::" and a dotted IPv4 tail expanded). */
function expand(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split(".").map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const parse = (part: string | undefined) => (part ? part.split(":").map((w) => Number.parseInt(w, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  return tail === undefined ? left : [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
}
