// Stateless nonces: what one issues, it accepts for the same client address until it expires; anything else is
// stale or invalid. And they stay short: the nonce is most of the 401 that anyone can draw with 20 bytes.
import { describe, expect, it } from "vitest";
import { NONCE_COOKIE, NonceIssuer } from "../src/server/nonce.js";

describe("NonceIssuer", () => {
  const issuer = new NonceIssuer(600, Buffer.alloc(32, 7));
  const now = Date.UTC(2026, 11, 2);
  const nonce = issuer.issue("198.51.100.1", now);

  it("issues short nonces that announce the security features (RFC 8489 §9.2.1)", () => {
    expect(nonce.startsWith(NONCE_COOKIE)).toBe(true);
    expect(nonce).toHaveLength(28);
    expect(nonce).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  const rows: Array<[string, string, string, number, "ok" | "stale" | "invalid"]> = [
    ["its own nonce, in time", nonce, "198.51.100.1", now + 599_000, "ok"],
    ["its own nonce, expired", nonce, "198.51.100.1", now + 601_000, "stale"],
    ["its nonce from another client address", nonce, "198.51.100.2", now, "invalid"],
    ["a nonce with a changed expiry", `${NONCE_COOKIE}AAAAAA${nonce.slice(19)}`, "198.51.100.1", now, "invalid"],
    [
      "a nonce with a changed MAC",
      `${nonce.slice(0, -1)}${nonce.endsWith("A") ? "B" : "A"}`,
      "198.51.100.1",
      now,
      "invalid",
    ],
    ["another issuer's nonce", new NonceIssuer(600).issue("198.51.100.1", now), "198.51.100.1", now, "invalid"],
    ["a truncated nonce", nonce.slice(0, 20), "198.51.100.1", now, "invalid"],
    ["a nonce without the cookie", `x${nonce.slice(1)}`, "198.51.100.1", now, "invalid"],
    ["the old long format", `${NONCE_COOKIE}6b0fdbf2.PTVqgLIj8JaaBpYqyVeNWF`, "198.51.100.1", now, "invalid"],
  ];
  for (const [what, text, address, at, expected] of rows) {
    it(`calls ${what} ${expected}`, () => {
      expect(issuer.check(text, address, at)).toBe(expected);
    });
  }
});
