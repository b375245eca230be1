import { describe, expect, it } from "vitest";
import { PeerPolicy, TurnError } from "../src/index.js";

describe("PeerPolicy defaults refuse addresses that lead into the host or its network", () => {
  const policy = new PeerPolicy({ ownAddresses: ["192.0.2.10", "2001:db8::10"] });
  const refused: Array<[string, string]> = [
    ["IPv4 loopback", "127.0.0.1"],
    ["another loopback address", "127.8.9.10"],
    ["IPv6 loopback", "::1"],
    ["IPv4-mapped loopback", "::ffff:127.0.0.1"],
    ["unspecified IPv4 (0.0.0.0/8)", "0.0.0.0"],
    ["unspecified IPv6", "::"],
    ["IPv4 link-local", "169.254.1.1"],
    ["the cloud metadata service", "169.254.169.254"],
    ["IPv4-mapped metadata service", "::ffff:169.254.169.254"],
    ["IPv6 link-local", "fe80::1"],
    ["IPv4 multicast", "224.0.0.1"],
    ["IPv6 multicast", "ff02::1"],
    ["broadcast", "255.255.255.255"],
    ["the server's own address", "192.0.2.10"],
    ["the server's own IPv6 address", "2001:db8::10"],
  ];
  for (const [name, address] of refused) {
    it(`refuses ${name} (${address})`, () => {
      expect(policy.check(address)).toMatch(/loopback|reserved|own address/);
    });
  }
  // Public addresses: CreatePermission checks only, nothing is ever sent to them in these tests.
  for (const address of ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "2002:808:808::1", "64:ff9b::8.8.8.8"]) {
    it(`permits an ordinary public peer ${address}`, () => {
      expect(policy.check(address)).toBeNull();
    });
  }
});

describe("PeerPolicy refuses private and special-purpose ranges by default (eturnal's list; coturn relays them)", () => {
  const policy = new PeerPolicy();
  const rows: Array<[string, string]> = [
    ["RFC 1918 10/8", "10.0.0.1"],
    ["RFC 1918 172.16/12", "172.31.255.254"],
    ["RFC 1918 192.168/16", "192.168.1.1"],
    ["carrier-grade NAT 100.64/10", "100.64.0.1"],
    ["benchmarking 198.18/15", "198.19.1.1"],
    ["reserved 240/4", "240.0.0.1"],
    ["IETF assignments 192.0.0.0/24", "192.0.0.8"],
    ["documentation 192.0.2.0/24", "192.0.2.1"],
    ["documentation 198.51.100.0/24", "198.51.100.1"],
    ["documentation 203.0.113.0/24", "203.0.113.9"],
    ["6to4 relay anycast", "192.88.99.1"],
    ["unique local fc00::/7", "fd12:3456::1"],
    ["documentation 2001:db8::/32", "2001:db8::1"],
    ["local-use NAT64 64:ff9b:1::/48", "64:ff9b:1::a00:1"],
    ["discard-only 100::/64", "100::1"],
    ["IPv4-mapped private", "::ffff:10.1.2.3"],
  ];
  for (const [name, address] of rows) {
    it(`refuses ${name} (${address}), naming --allow-private-peers`, () => {
      expect(policy.check(address)).toMatch(/private or special-purpose range \(see --allow-private-peers\)/);
    });
  }
  it("permits them with allowPrivate, and a single range with allowed (coturn's --allowed-peer-ip)", () => {
    const open = new PeerPolicy({ allowPrivate: true });
    for (const [, address] of rows) expect(open.check(address)).toBeNull();
    const one = new PeerPolicy({ allowed: ["10.1.0.0/16"] });
    expect(one.check("10.1.2.3")).toBeNull();
    expect(one.check("10.2.0.1")).not.toBeNull();
  });
  it("says what it refuses and what was opened, for the log at start", () => {
    expect(policy.describe()).toMatch(/refusing loopback .*private or special-purpose range.*embedding IPv4/);
    expect(new PeerPolicy({ allowLoopback: true, allowPrivate: true, denied: ["8.8.8.0/24"] }).describe()).toMatch(
      /opened by --allow-loopback-peers, --allow-private-peers; denied 8\.8\.8\.0\/24/,
    );
  });
});

describe("PeerPolicy checks the IPv4 address an IPv6 address leads to", () => {
  const policy = new PeerPolicy({ denied: ["8.8.4.0/24"] });
  // [form, address, the IPv4 address it embeds]
  const rows: Array<[string, string, string]> = [
    ["IPv4-compatible", "::127.0.0.1", "127.0.0.1"],
    ["IPv4-compatible, hex", "::7f00:1", "127.0.0.1"],
    ["NAT64 well-known prefix", "64:ff9b::7f00:1", "127.0.0.1"],
    ["NAT64 of the metadata service", "64:ff9b::a9fe:a9fe", "169.254.169.254"],
    ["NAT64 of a private address", "64:ff9b::10.0.0.1", "10.0.0.1"],
    ["6to4", "2002:7f00:1::", "127.0.0.1"],
    ["6to4 of a private address", "2002:c0a8:101::1", "192.168.1.1"],
    ["Teredo, client (inverted)", "2001:0:808:808::80ff:fffe", "127.0.0.1"],
    ["Teredo, server", "2001:0:a00:1::f7f7:f7f7", "10.0.0.1"],
    ["an operator's denied range", "64:ff9b::8.8.4.4", "8.8.4.4"],
  ];
  for (const [form, address, inner] of rows) {
    it(`refuses ${form} ${address}, naming ${inner}`, () => {
      expect(policy.check(address)).toContain(`leads to ${inner}`);
    });
  }
  it("reads local-use NAT64 (64:ff9b:1::/48) in both RFC 6052 layouts, even with private ranges allowed", () => {
    const open = new PeerPolicy({ allowPrivate: true });
    expect(open.check("64:ff9b:1:7f00:0:100::")).toContain("leads to 127.0.0.1"); // /48 layout
    expect(open.check("64:ff9b:1::7f00:1")).toContain("leads to 127.0.0.1"); // /96 layout
    expect(open.check("64:ff9b:1::a00:1")).toBeNull(); // 10.0.0.1, private and allowed here
  });

  it("lets such a form through when the IPv4 address it leads to is an ordinary one", () => {
    expect(policy.check("64:ff9b::8.8.8.8")).toBeNull();
    expect(policy.check("2002:808:808::1")).toBeNull();
  });
});

describe("PeerPolicy ranges, as coturn parses them and as CIDR", () => {
  const policy = new PeerPolicy({
    denied: ["10.0.0.0-10.255.255.255", "172.16.0.0/12", "203.0.113.5", "2001:db8:bad::/48"],
    allowed: ["10.0.0.5", "127.0.0.1"],
    allowLoopback: false,
    allowPrivate: true, // these rows test coturn's range syntax, not the private-range default
  });
  const rows: Array<[string, boolean]> = [
    ["10.2.3.4", false],
    ["10.0.0.5", true], // allowed wins over denied
    ["172.20.1.1", false],
    ["172.32.0.1", true],
    ["203.0.113.5", false],
    ["203.0.113.6", true],
    ["2001:db8:bad::1", false],
    ["2001:db8:600d::1", true],
    ["127.0.0.1", true], // explicitly allowed
    ["127.0.0.2", false],
  ];
  for (const [address, permitted] of rows) {
    it(`${permitted ? "permits" : "refuses"} ${address}`, () => {
      expect(policy.check(address) === null).toBe(permitted);
    });
  }

  it("permits loopback peers with allowLoopback (coturn's --allow-loopback-peers)", () => {
    expect(new PeerPolicy({ allowLoopback: true }).check("127.0.0.1")).toBeNull();
  });

  for (const bad of ["10.0.0.1-", "not-an-ip", "10.0.0.0/33", "10.0.0.9-10.0.0.1", "10.0.0.1-::1"]) {
    it(`rejects the malformed range "${bad}" with INVALID_OPTION`, () => {
      expect(() => new PeerPolicy({ denied: [bad] })).toThrow(TurnError);
    });
  }
});
