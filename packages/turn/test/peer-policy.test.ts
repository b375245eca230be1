import { describe, expect, it } from "vitest";
import { PeerPolicy, TurnError } from "../src/index.js";

describe("PeerPolicy defaults refuse addresses that lead into the host or its network", () => {
  const policy = new PeerPolicy({ ownAddresses: ["192.0.2.10"] });
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
  ];
  for (const [name, address] of refused) {
    it(`refuses ${name} (${address})`, () => {
      expect(policy.check(address)).toMatch(/loopback|reserved|server-owned/);
    });
  }
  for (const address of ["198.51.100.1", "2001:db8::1", "10.1.1.1"]) {
    it(`permits an ordinary peer ${address}`, () => {
      expect(policy.check(address)).toBeNull();
    });
  }
});

describe("PeerPolicy ranges, as coturn parses them and as CIDR", () => {
  const policy = new PeerPolicy({
    denied: ["10.0.0.0-10.255.255.255", "172.16.0.0/12", "203.0.113.5", "2001:db8:bad::/48"],
    allowed: ["10.0.0.5", "127.0.0.1"],
    allowLoopback: false,
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
