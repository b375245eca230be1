import { TurnError } from "../errors.js";
import { longTermKey } from "../stun/integrity.js";
import { restExpiry, restPassword } from "./rest-credentials.js";

/**
 * Returns the long-term key(s) a username may have; none means the user is unknown (→ 401). Several keys arise with
 * rotated REST secrets: the request is accepted if its MESSAGE-INTEGRITY matches any. Users may supply this as the
 * `authenticate` hook to check a database; the built-in one below serves coturn's --user and --static-auth-secret.
 */
export type Authenticate = (
  username: string,
  realm: string,
  /** "sha256" when the client chose MESSAGE-INTEGRITY-SHA256 (RFC 8489 §9.2.2); keys differ per algorithm. */
  algorithm: "md5" | "sha256",
) => Buffer[] | Promise<Buffer[]>;

export interface StaticCredentialsOptions {
  realm: string;
  /** coturn's --user values: "name:password" or "name:0x<32 hex digits of MD5(name:realm:password)>". */
  users?: string[];
  /** coturn's --static-auth-secret values (several, for rotation): enables REST ephemeral credentials. */
  secrets?: string[];
  nowMs?: () => number;
}

/** A --user entry: the password when given in clear (both algorithms derivable), or coturn's MD5 key. */
type UserSecret = { password: string } | { md5Key: Buffer };

export function parseUser(spec: string, realm: string): [string, Buffer] {
  const [name, secret] = parseUserSecret(spec);
  return [name, "md5Key" in secret ? secret.md5Key : longTermKey(name, realm, secret.password)];
}

function parseUserSecret(spec: string): [string, UserSecret] {
  const colon = spec.indexOf(":");
  if (colon < 1 || colon === spec.length - 1) {
    throw new TurnError("INVALID_OPTION", `--user "${spec}": expected name:password or name:0x<hex key>`);
  }
  const name = spec.slice(0, colon);
  const secret = spec.slice(colon + 1);
  if (/^0x/i.test(secret)) {
    if (!/^0x[0-9a-f]{32}$/i.test(secret)) {
      throw new TurnError(
        "INVALID_OPTION",
        `--user "${name}": a 0x key must be 32 hex digits (an MD5), got "${secret}"`,
      );
    }
    return [name, { md5Key: Buffer.from(secret.slice(2), "hex") }];
  }
  return [name, { password: secret }];
}

/** The built-in credential check: static users first, then REST secrets (any of them, for rotation). */
export function staticCredentials(options: StaticCredentialsOptions): Authenticate {
  const users = new Map((options.users ?? []).map((spec) => parseUserSecret(spec)));
  const secrets = options.secrets ?? [];
  const now = options.nowMs ?? Date.now;
  return (username, realm, algorithm) => {
    if (realm !== options.realm) return [];
    const secret = users.get(username);
    if (secret) {
      // A user configured only by its MD5 key cannot sign with SHA-256: no key, so 401 for that algorithm.
      if ("md5Key" in secret) return algorithm === "md5" ? [secret.md5Key] : [];
      return [longTermKey(username, realm, secret.password, algorithm)];
    }
    const expiry = restExpiry(username);
    // An expired REST username is refused like an unknown one: 401, and the client must fetch new credentials.
    if (secrets.length === 0 || expiry === undefined || expiry * 1000 < now()) return [];
    return secrets.map((secret) => longTermKey(username, realm, restPassword(secret, username), algorithm));
  };
}
