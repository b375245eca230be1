import { type Authenticate, staticCredentials } from "../auth/credentials.js";
import { ErrorCode } from "../stun/attributes/error-code.js";
import {
  decodePasswordAlgorithm,
  encodePasswordAlgorithms,
  PasswordAlgorithm,
} from "../stun/attributes/password-algorithms.js";
import { AttributeType } from "../stun/constants.js";
import { integrityMatches, integritySha256Matches } from "../stun/integrity.js";
import type { StunMessage } from "../stun/message.js";
import type { ClientLink } from "./client-link.js";
import { NonceIssuer } from "./nonce.js";
import type { TurnServerOptions } from "./server.js";

/** `key` is undefined only with `noAuth`, where responses carry no MESSAGE-INTEGRITY. */
export type Authenticated = { username: string; key: Buffer | undefined; sha256: boolean };

/** What authentication needs from the server: its error responses, and whom to tell about failures. */
export interface AuthenticatorHost {
  refuse(
    msg: StunMessage,
    link: ClientLink,
    code: number,
    reason: string,
    options: { fingerprint: boolean; software?: false; extra?: Array<[number, Buffer]> },
  ): Buffer;
  onFailure(info: { client: { address: string; port: number }; username: string; reason: string }): void;
  onRateLimited(): void;
}

const MAX_RATE_ENTRIES = 65_536;

/**
 * RFC 8489 §9.2 long-term credentials for the TURN methods: stateless nonces, REALM/NONCE challenges, MESSAGE-
 * INTEGRITY or MESSAGE-INTEGRITY-SHA256 with downgrade-protected PASSWORD-ALGORITHMS, and the per-address budget
 * for wrong credentials. It keeps no per-client state but that budget (bounded, swept every second).
 */
export class Authenticator {
  private readonly nonces: NonceIssuer;
  private readonly authenticateUser: Authenticate;
  private readonly offeredAlgorithms: Buffer;
  private readonly allowSha256: boolean;
  private readonly realm: string;
  private readonly noAuth: boolean;
  private readonly authFailureRate: number;
  private readonly rate = new Map<string, { windowStart: number; count: number }>();

  constructor(
    options: TurnServerOptions,
    private readonly host: AuthenticatorHost,
    /** Shared by all relay threads, so a nonce one issued verifies in the others. Random when not given. */
    nonceSecret?: Buffer,
  ) {
    this.realm = options.realm ?? "parley";
    this.noAuth = options.noAuth ?? false;
    this.authFailureRate = options.authFailureRate ?? 50;
    this.nonces = new NonceIssuer(options.nonceLifetime ?? 600, nonceSecret);
    const md5KeyUsers = (options.users ?? []).some((u) => /^[^:]+:0x/i.test(u));
    const algorithms =
      options.passwordAlgorithms ?? (md5KeyUsers && !options.authenticate ? ["md5"] : ["sha256", "md5"]);
    this.allowSha256 = algorithms.includes("sha256");
    this.offeredAlgorithms = encodePasswordAlgorithms(
      algorithms.map((a) => (a === "sha256" ? PasswordAlgorithm.SHA256 : PasswordAlgorithm.MD5)),
    );
    this.authenticateUser =
      options.authenticate ??
      staticCredentials({ realm: this.realm, users: options.users ?? [], secrets: options.authSecrets ?? [] });
  }

  /** RFC 8489 §9.2.4 long-term credentials: a success, the error response to send, or null to drop (rate limit). */
  async authenticate(msg: StunMessage, link: ClientLink, fingerprint: boolean): Promise<Authenticated | Buffer | null> {
    const challenge = (code: number, reason: string, compact = false) => {
      this.host.onFailure({
        client: { address: link.remoteAddress, port: link.remotePort },
        username: msg.get(AttributeType.Username)?.toString("utf8") ?? "",
        reason,
      });
      return this.host.refuse(msg, link, code, compact ? "Unauthorized" : reason, {
        fingerprint,
        // The answer to a bare first request goes to whoever the source address claims to be: kept as small as
        // coturn's (standard reason phrase, no SOFTWARE), so the server is no better an amplifier than coturn.
        ...(compact ? { software: false } : {}),
        extra: [
          [AttributeType.Realm, Buffer.from(this.realm)],
          [AttributeType.Nonce, Buffer.from(this.nonces.issue(link.remoteAddress))],
          [AttributeType.PasswordAlgorithms, this.offeredAlgorithms],
        ],
      });
    };
    if (this.noAuth) return { username: "anonymous", key: undefined, sha256: false };
    const sha256 = msg.integritySha256Offset !== -1;
    // The first request of every honest client carries no MESSAGE-INTEGRITY. Its 401 is stateless (the nonce is an
    // HMAC) and costs no more than the request, so it is always answered: counting it against a per-address budget
    // hung 30 TCP clients behind one address, and let a spoofer silence a victim's challenges over UDP.
    if (msg.integrityOffset === -1 && !sha256)
      return challenge(ErrorCode.Unauthorized, "authentication required", true);
    const usernameBuf = msg.get(AttributeType.Username);
    const realmBuf = msg.get(AttributeType.Realm);
    const nonceBuf = msg.get(AttributeType.Nonce);
    if (!usernameBuf || !realmBuf || !nonceBuf) {
      return this.host.refuse(msg, link, ErrorCode.BadRequest, "MESSAGE-INTEGRITY without USERNAME, REALM and NONCE", {
        fingerprint,
      });
    }
    if (usernameBuf.length > 512 || realmBuf.length > 762 || nonceBuf.length > 762) {
      return this.host.refuse(msg, link, ErrorCode.BadRequest, "USERNAME, REALM or NONCE too long", { fingerprint });
    }
    const nonceState = this.nonces.check(nonceBuf.toString("utf8"), link.remoteAddress);
    // A stale nonce is what every long-lived honest client sends once per nonce lifetime: answered, not counted.
    if (nonceState !== "ok")
      return challenge(ErrorCode.StaleNonce, nonceState === "stale" ? "nonce expired" : "nonce not issued here");
    // RFC 8489 §9.2.4: a client using SHA-256 names its PASSWORD-ALGORITHM and echoes our PASSWORD-ALGORITHMS, so
    // an attacker who stripped SHA-256 from the offer is caught. MD5-only (RFC 5389) clients send neither.
    const chosen = msg.get(AttributeType.PasswordAlgorithm);
    const echoed = msg.get(AttributeType.PasswordAlgorithms);
    if (chosen || echoed || sha256) {
      let algorithm: number | undefined;
      try {
        algorithm = chosen ? decodePasswordAlgorithm(chosen) : undefined;
      } catch {}
      const expected = sha256 ? PasswordAlgorithm.SHA256 : PasswordAlgorithm.MD5;
      const allowed = expected === PasswordAlgorithm.MD5 || this.allowSha256;
      if (!chosen || !echoed || algorithm !== expected || !allowed || !echoed.equals(this.offeredAlgorithms)) {
        return this.host.refuse(
          msg,
          link,
          ErrorCode.BadRequest,
          "PASSWORD-ALGORITHM/PASSWORD-ALGORITHMS missing or not as offered",
          { fingerprint },
        );
      }
    }
    const username = usernameBuf.toString("utf8");
    const realm = realmBuf.toString("utf8");
    const keys = realm === this.realm ? await this.authenticateUser(username, realm, sha256 ? "sha256" : "md5") : [];
    const key = keys.find((k) => (sha256 ? integritySha256Matches(msg, k) : integrityMatches(msg, k)));
    if (!key) {
      if (!this.admitAuthFailure(link.remoteAddress)) return null;
      return challenge(ErrorCode.Unauthorized, keys.length ? "wrong credentials" : "unknown user or realm");
    }
    return { username, key, sha256 };
  }

  /** A per-IP budget for requests whose credentials fail to verify; past it they are dropped unanswered. */
  private admitAuthFailure(address: string): boolean {
    const limit = this.authFailureRate;
    if (limit === 0) return true;
    const now = Date.now();
    let entry = this.rate.get(address);
    if (!entry || now - entry.windowStart >= 1000) {
      if (!entry && this.rate.size >= MAX_RATE_ENTRIES) this.rate.clear();
      entry = { windowStart: now, count: 0 };
      this.rate.set(address, entry);
    }
    if (++entry.count <= limit) return true;
    this.host.onRateLimited();
    return false;
  }

  /** Forgets budget windows older than a second (the server calls this every second). */
  sweep(now: number): void {
    for (const [ip, entry] of this.rate) if (now - entry.windowStart > 1000) this.rate.delete(ip);
  }
}
