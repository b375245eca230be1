import { BlockList, isIPv4, isIPv6 } from "node:net";
import { TurnError } from "../errors.js";
import { embeddedIPv4 } from "./embedded-ipv4.js";

/**
 * Which peer addresses a client may relay to. Safe by default, beyond coturn's defaults: loopback, "this network",
 * unspecified, link-local (incl. the 169.254.169.254 metadata service), multicast, the server's own addresses, and
 * the private and special-purpose ranges (RFC 1918, CGNAT, benchmarking, documentation, ULA…) are refused unless
 * allowed — relaying into the operator's own network is the classic TURN SSRF. An IPv6 address that embeds an IPv4
 * one (NAT64, 6to4, Teredo, IPv4-compatible) is also checked by the IPv4 address it leads to; IPv4-mapped
 * `::ffff:a.b.c.d` forms match the IPv4 rules directly (BlockList does that).
 */
export interface PeerPolicyOptions {
  /** coturn's --allow-loopback-peers: permit 127.0.0.0/8 and ::1. */
  allowLoopback?: boolean;
  /**
   * --allow-private-peers: permit the private and special-purpose ranges (10/8, 172.16/12, 192.168/16, 100.64/10,
   * fc00::/7 …), as coturn does by default. For a TURN server that relays to peers inside its own network.
   */
  allowPrivate?: boolean;
  /** coturn's --denied-peer-ip ranges (a.b.c.d, a.b.c.d-e.f.g.h, or CIDR). */
  denied?: string[];
  /** coturn's --allowed-peer-ip ranges; these win over every deny, as in coturn. */
  allowed?: string[];
  /** The server's own addresses, refused unless allowed explicitly. */
  ownAddresses?: string[];
}

/** Which rule refused a peer: a closed set, so metrics and logs can count by it. */
export type PeerRule = "denied-range" | "loopback" | "reserved" | "own-address" | "private";

interface Rule {
  id: PeerRule;
  /** What the reason says the address is. */
  what: string;
  ranges: readonly string[];
  /** The option (and flag) that lifts this rule, if any. */
  unless?: { option: "allowLoopback" | "allowPrivate"; flag: string };
  list: BlockList;
}

const LOOPBACK = ["127.0.0.0/8", "::1/128"];
const RESERVED = [
  "0.0.0.0/8",
  "169.254.0.0/16",
  "224.0.0.0/4",
  "255.255.255.255/32",
  "::/128",
  "fe80::/10",
  "ff00::/8",
];
/** eturnal's recommended deny list, less what RESERVED and LOOPBACK already hold. */
const PRIVATE = [
  "10.0.0.0/8", // RFC 1918
  "100.64.0.0/10", // carrier-grade NAT, RFC 6598
  "172.16.0.0/12", // RFC 1918
  "192.0.0.0/24", // IETF protocol assignments, RFC 6890
  "192.0.2.0/24", // documentation (TEST-NET-1), RFC 5737
  "192.88.99.0/24", // 6to4 relay anycast, RFC 7526
  "192.168.0.0/16", // RFC 1918
  "198.18.0.0/15", // benchmarking, RFC 2544
  "198.51.100.0/24", // documentation (TEST-NET-2)
  "203.0.113.0/24", // documentation (TEST-NET-3)
  "240.0.0.0/4", // reserved, RFC 1112
  "64:ff9b:1::/48", // local-use NAT64, RFC 8215
  "100::/64", // discard-only, RFC 6666
  "2001:10::/28", // ORCHID
  "2001:20::/28", // ORCHIDv2, RFC 7343
  "2001:db8::/32", // documentation, RFC 3849
  "fc00::/7", // unique local, RFC 4193
];

export class PeerPolicy {
  private readonly allowed = new BlockList();
  private readonly denied = new BlockList();
  private readonly rules: Rule[];
  private readonly options: PeerPolicyOptions;

  constructor(options: PeerPolicyOptions = {}) {
    this.options = options;
    // Own loopback addresses fall under the loopback rule, so --allow-loopback-peers can open a one-host setup; the
    // server's own listening ports stay closed whatever this policy says (TurnServer checks address and port).
    const loopback = new BlockList();
    for (const range of LOOPBACK) addRange(loopback, range);
    const own = (options.ownAddresses ?? []).filter(
      (a) => a !== "0.0.0.0" && a !== "::" && !loopback.check(a, isIPv4(a) ? "ipv4" : "ipv6"),
    );
    this.rules = [
      {
        id: "loopback",
        what: "a loopback address",
        ranges: LOOPBACK,
        unless: { option: "allowLoopback", flag: "--allow-loopback-peers" },
      },
      {
        id: "reserved",
        what: "a reserved address (unspecified, link-local, multicast or broadcast)",
        ranges: RESERVED,
      },
      { id: "own-address", what: "this server's own address", ranges: own },
      {
        id: "private",
        what: "in a private or special-purpose range",
        ranges: PRIVATE,
        unless: { option: "allowPrivate", flag: "--allow-private-peers" },
      },
    ].map((rule) => {
      const list = new BlockList();
      for (const range of rule.ranges) addRange(list, range);
      return { ...rule, list } as Rule;
    });
    for (const range of options.denied ?? []) addRange(this.denied, range);
    for (const range of options.allowed ?? []) addRange(this.allowed, range);
  }

  /** Null when relaying to `address` is permitted, otherwise the reason it is not. */
  check(address: string): string | null {
    return this.classify(address)?.reason ?? null;
  }

  /** Null when relaying to `address` is permitted, otherwise the rule that refuses it and the reason. */
  classify(address: string): { rule: PeerRule; reason: string } | null {
    const type = isIPv4(address) ? "ipv4" : isIPv6(address) ? "ipv6" : undefined;
    if (!type) return { rule: "reserved", reason: `${address} is not an IP address` };
    if (this.allowed.check(address, type)) return null;
    const direct = this.refusal(address, type);
    if (direct) return { rule: direct.rule, reason: `${address} is ${direct.why}` };
    for (const inner of embeddedIPv4(address)) {
      const found = this.refusal(inner, "ipv4");
      if (found) return { rule: found.rule, reason: `${address} leads to ${inner}, which is ${found.why}` };
    }
    return null;
  }

  /** One line for the log at start: what is refused and what was opened. */
  describe(): string {
    const refused = this.rules
      .filter((r) => r.ranges.length && !(r.unless && this.options[r.unless.option]))
      .map((r) => r.what.replace(/^(a|in a) /, ""));
    const opened = this.rules.filter((r) => r.unless && this.options[r.unless.option]).map((r) => r.unless!.flag);
    const extra = [
      ...(this.options.denied?.length ? [`denied ${this.options.denied.join(", ")}`] : []),
      ...(this.options.allowed?.length ? [`allowed ${this.options.allowed.join(", ")}`] : []),
    ];
    return (
      `peer policy: refusing ${refused.join("; ")}; IPv6 forms embedding IPv4 checked by their IPv4 address` +
      `${opened.length ? `; opened by ${opened.join(", ")}` : ""}${extra.length ? `; ${extra.join("; ")}` : ""}`
    );
  }

  private refusal(address: string, type: "ipv4" | "ipv6"): { rule: PeerRule; why: string } | null {
    if (this.denied.check(address, type)) return { rule: "denied-range", why: "in a denied-peer-ip range" };
    for (const rule of this.rules) {
      if (!rule.list.check(address, type)) continue;
      if (rule.unless && this.options[rule.unless.option]) continue;
      return { rule: rule.id, why: `${rule.what}${rule.unless ? ` (see ${rule.unless.flag})` : ""}` };
    }
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
