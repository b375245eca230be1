// createTurnServer checks its options before it opens anything: a bad value is a TurnError INVALID_OPTION that names
// the option and what came, for every caller of the library (the CLI has its own checks, in coturn's terms).
import { describe, expect, it } from "vitest";
import { createTurnServer, type TurnServerOptions } from "../src/index.js";

const rows: Array<[string, TurnServerOptions, RegExp]> = [
  ["a port above 65535", { minPort: 70000 }, /minPort must be an integer from 1 to 65535, got 70000/],
  ["min above max", { minPort: 50000, maxPort: 10 }, /minPort 50000 is above maxPort 10/],
  ["a fractional port", { listeningPort: 3478.5 }, /listeningPort must be an integer from 0 to 65535, got 3478.5/],
  ["a negative quota", { userQuota: -1 }, /userQuota must be an integer from 0/],
  ["a string lifetime", { maxAllocateLifetime: "600" as unknown as number }, /maxAllocateLifetime .* got "600"/],
  ["a zero nonce lifetime", { nonceLifetime: 0 }, /nonceLifetime must be an integer from 1/],
  ["a negative auth budget", { authFailureRate: -5 }, /authFailureRate must be an integer from 0/],
  ["a tiny stream backlog", { maxStreamBacklog: 10 }, /maxStreamBacklog must be an integer from 1024/],
  ["a listening IP that is a name", { listeningIps: ["localhost"] }, /listeningIps: "localhost" is not an IP address/],
  ["no listening IPs", { listeningIps: [] }, /listeningIps must be a non-empty array/],
  ["a bad relay IP", { relayIps: ["10.0.0.300"] }, /relayIps: "10.0.0.300" is not an IP address/],
  ["a bad external IP", { externalIp: "example.org" }, /externalIp: "example.org" is not an IP address/],
  ["an empty realm", { realm: "" }, /realm must be a non-empty string/],
  ["nothing to listen on", { noUdp: true, noTcp: true }, /noUdp and noTcp without tls/],
  ["a user without a password", { users: ["alice"] }, /users: "alice…" is not "name:password"/],
  ["an empty secret", { authSecrets: [""] }, /authSecrets must be an array of non-empty strings/],
  ["an unknown algorithm", { passwordAlgorithms: ["sha1" as "md5"] }, /passwordAlgorithms must be .* got \["sha1"\]/],
  ["a bad peer range", { peerPolicy: { denied: ["10.0.0.0/40"] } }, /prefix \/40 is too long/],
];

describe("createTurnServer options", () => {
  for (const [what, options, message] of rows) {
    it(`refuses ${what} with INVALID_OPTION`, () => {
      let error: unknown;
      try {
        createTurnServer(options);
      } catch (err) {
        error = err;
      }
      expect(error).toMatchObject({ name: "TurnError", code: "INVALID_OPTION" });
      expect((error as Error).message).toMatch(message);
    });
  }

  it("accepts the defaults and a full, valid set", () => {
    expect(() => createTurnServer()).not.toThrow();
    expect(() =>
      createTurnServer({
        listeningIps: ["127.0.0.1", "::1"],
        listeningPort: 0,
        minPort: 40000,
        maxPort: 40010,
        realm: "north.gov",
        users: ["alice:secret", "bob:0xbc807ee29df3c9ffa736523fb2c4e8ee"],
        authSecrets: ["s"],
        userQuota: 2,
        totalQuota: 100,
        authFailureRate: 0,
        passwordAlgorithms: ["md5"],
      }),
    ).not.toThrow();
  });
});
