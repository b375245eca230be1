import { createHmac } from "node:crypto";

/**
 * The TURN REST API credential formula (draft-uberti-behave-turn-rest, as coturn's --use-auth-secret implements it):
 * username "<unix expiry>[:<user>]", password base64(HMAC-SHA1(secret, username)). This is the one contract between
 * @parley/signal, which hands credentials out, and this server, which checks them.
 */
export function restCredentials(
  secret: string,
  options: { user?: string; ttlSeconds?: number; nowMs?: number } = {},
): { username: string; password: string; expiresAt: number } {
  const expiresAt = Math.floor((options.nowMs ?? Date.now()) / 1000) + (options.ttlSeconds ?? 86_400);
  const username = options.user ? `${expiresAt}:${options.user}` : String(expiresAt);
  return { username, password: restPassword(secret, username), expiresAt };
}

export function restPassword(secret: string, username: string): string {
  return createHmac("sha1", secret).update(username).digest("base64");
}

/** The expiry a REST username carries, or undefined when it does not start with a timestamp. */
export function restExpiry(username: string): number | undefined {
  const match = /^(\d{1,12})(?::|$)/.exec(username);
  return match ? Number(match[1]) : undefined;
}
