import { BlockList, isIPv4, isIPv6 } from "node:net";
import { TurnError } from "../errors.js";

/**
 * Which peer addresses a client may relay to. Safe by default: loopback, "this network", unspecified, link-local
 * (incl. the 169.254.169.254 metadata service), multicast, and the server's own listening addresses are refused
 * unless explicitly allowed — a TURN server must not become a way into the host or its private network.
 * BlockList matches IPv4-mapped IPv6 forms (::ffff:127.0.0.1) against IPv4 rules, so those are covered too.
 */
export interface PeerPolicyOptions {
  /** coturn's --allow-loopback-peers: permit 127.0.0.0/8 and ::1. */
  allowLoopback?: boolean;
  /** coturn's --denied-peer-ip ranges (a.b.c.d, a.b.c.d-e.f.g.h, or CIDR). */
  denied?: string[];
  /** coturn's --allowed-peer-ip ranges; these win over every deny, as in coturn. */
  allowed?: string[];
  /** The server's own addresses, refused unless allowed explicitly. */
  ownAddresses?: string[];
}

export class PeerPolicy {
  private readonly allowed = new BlockList();
  private readonly denied = new BlockList();
  private readonly builtinDenied = new BlockList();
  private readonly loopback = new BlockList();
  private readonly allowLoopback: boolean;

  constructor(options: PeerPolicyOptions = {}) {
    this.allowLoopback = options.allowLoopback ?? false;
    this.loopback.addSubnet("127.0.0.0", 8, "ipv4");
    this.loopback.addAddress("::1", "ipv6");
    for (const [net, prefix] of [
      ["0.0.0.0", 8],
      ["169.254.0.0", 16],
      ["224.0.0.0", 4],
      ["255.255.255.255", 32],
    ] as const) {
      this.builtinDenied.addSubnet(net, prefix, "ipv4");
    }
    this.builtinDenied.addAddress("::", "ipv6");
    this.builtinDenied.addSubnet("fe80::", 10, "ipv6");
    this.builtinDenied.addSubnet("ff00::", 8, "ipv6");
    for (const own of options.ownAddresses ?? []) {
      if (own !== "0.0.0.0" && own !== "::") addRange(this.builtinDenied, own);
    }
    for (const range of options.denied ?? []) addRange(this.denied, range);
    for (const range of options.allowed ?? []) addRange(this.allowed, range);
  }

  /** Null when relaying to `address` is permitted, otherwise the reason it is not. */
  check(address: string): string | null {
    const type = isIPv4(address) ? "ipv4" : isIPv6(address) ? "ipv6" : undefined;
    if (!type) return `${address} is not an IP address`;
    if (this.allowed.check(address, type)) return null;
    if (this.denied.check(address, type)) return `${address} is in a denied-peer-ip range`;
    if (this.loopback.check(address, type)) {
      return this.allowLoopback ? null : `${address} is a loopback address (see --allow-loopback-peers)`;
    }
    if (this.builtinDenied.check(address, type)) return `${address} is a reserved or server-owned address`;
    return null;
  }
}

/** Parses one coturn-style range into `list`: an address, "first-last", or CIDR "net/prefix". */
export function addRange(list: BlockList, range: string): void {
  const text = range.trim();
  const cidr = /^(.+)\/(\d{1,3})$/.exec(text);
  if (cidr) {
    const [net, bits] = [cidr[1]!, Number(cidr[2])];
    const type = familyOf(net, range);
    if (bits > (type === "ipv4" ? 32 : 128))
      throw new TurnError("INVALID_OPTION", `"${range}": prefix /${bits} is too long`);
    list.addSubnet(net, bits, type);
    return;
  }
  const dash = text.split("-");
  if (dash.length === 2) {
    const [first, last] = [dash[0]!.trim(), dash[1]!.trim()];
    const type = familyOf(first, range);
    if (familyOf(last, range) !== type)
      throw new TurnError("INVALID_OPTION", `"${range}": both ends must be the same family`);
    try {
      list.addRange(first, last, type);
    } catch {
      throw new TurnError("INVALID_OPTION", `"${range}": the first address must not be after the last`);
    }
    return;
  }
  list.addAddress(text, familyOf(text, range));
}

function familyOf(address: string, range: string): "ipv4" | "ipv6" {
  if (isIPv4(address)) return "ipv4";
  if (isIPv6(address)) return "ipv6";
  throw new TurnError("INVALID_OPTION", `"${range}" is not an IP address, range (a-b) or CIDR block`);
}
