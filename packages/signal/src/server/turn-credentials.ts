import { createHmac } from "node:crypto";
import type { IceServer } from "../protocol/messages.js";

export interface TurnCredentialOptions {
  /** The TURN server's --static-auth-secret. */
  secret: string;
  /** TURN/STUN URLs handed to clients, e.g. ["turn:turn.example.org:3478?transport=udp", "turns:…:5349"]. */
  urls: string[];
  /** Credential lifetime. Default 1 hour; refreshed at 80 % of it. */
  ttlSeconds?: number;
}

/**
 * Ephemeral TURN REST credentials (username "<expiry>:<identity>", password base64(HMAC-SHA1(secret, username))):
 * the formula @parley/turn and coturn check under --use-auth-secret. Written here rather than imported so
 * @parley/signal does not depend on the TURN package (ARCHITECTURE.md: the formula is the only contract).
 */
export function turnIceServers(options: TurnCredentialOptions, identity: string, nowMs = Date.now()): IceServer[] {
  const expiry = Math.floor(nowMs / 1000) + (options.ttlSeconds ?? 3600);
  const username = `${expiry}:${identity.replace(/:/g, "_")}`;
  const credential = createHmac("sha1", options.secret).update(username).digest("base64");
  const turn = options.urls.filter((u) => u.startsWith("turn"));
  const stun = options.urls.filter((u) => u.startsWith("stun"));
  return [...(stun.length ? [{ urls: stun }] : []), ...(turn.length ? [{ urls: turn, username, credential }] : [])];
}
