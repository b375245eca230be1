import { type ParseArgsConfig, parseArgs } from "node:util";
import type { IceServer } from "../protocol/messages.js";
import type { SignalServerOptions } from "../server/server.js";

const flags = {
  port: { type: "string", short: "p" },
  host: { type: "string" },
  path: { type: "string" },
  "token-secret": { type: "string" },
  "admin-token": { type: "string" },
  "allowed-origin": { type: "string", multiple: true },
  "turn-secret": { type: "string" },
  "turn-url": { type: "string", multiple: true },
  "turn-ttl": { type: "string" },
  "ice-url": { type: "string", multiple: true },
  "room-capacity": { type: "string" },
  "rooms-per-connection": { type: "string" },
  "max-message-bytes": { type: "string" },
  "messages-per-second": { type: "string" },
  "resume-window": { type: "string" },
  "outbox-messages": { type: "string" },
  redis: { type: "string" },
  "redis-prefix": { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} satisfies ParseArgsConfig["options"];

export const USAGE = `Usage: parley-signal [options]        (GET /healthz: {"sessions":N}; GET /metrics: Prometheus)
  -p, --port N                 listen port (default 8080)
      --host ADDR              listen address (default 0.0.0.0)
      --path /PATH             serve WebSocket upgrades only on this path (default: any)
      --cert FILE --key FILE   serve wss:// (TLS) with this PEM certificate chain and private key (as coturn's
                               --cert/--pkey); browsers on other machines need a secure page and wss
      --token-secret S         require HS256 tokens signed with S (or env PARLEY_TOKEN_SECRET)
      --admin-token T          serve the admin API under /admin (Bearer T, at least 16 characters; or env
                               PARLEY_ADMIN_TOKEN): GET /admin/rooms, GET|DELETE /admin/rooms/ROOM,
                               DELETE /admin/members/ID (ends that session; it cannot resume)
      --allowed-origin URL     accept browsers only from this Origin (repeatable)
      --turn-secret S          TURN REST secret (--static-auth-secret of the TURN server; or env PARLEY_TURN_SECRET)
      --turn-url URL           turn:/turns:/stun: URL handed out with credentials (repeatable)
      --turn-ttl SECONDS       credential lifetime (default 3600)
      --ice-url URL            extra STUN URL handed out as is (repeatable)
      --room-capacity N        members per room (default 50)
      --rooms-per-connection N (default 16)
      --max-message-bytes N    (default 65536)
      --messages-per-second N  (default 50)
      --resume-window MS       how long a dropped session can resume (default 30000)
      --outbox-messages N      unacknowledged messages kept per session for a resume (default 256)
      --redis URL              share rooms and sessions with every node on this Redis (redis:// or rediss://; or
                               env PARLEY_REDIS_URL): run several nodes behind a load balancer (README)
      --redis-prefix P         key prefix in Redis (default parley:), to share one Redis between deployments
  -h, --help                   --version`;

export class OptionsError extends Error {
  override readonly name = "OptionsError";
}

export interface CliOptions {
  port: number;
  host: string;
  path: string | undefined;
  /** PEM files for wss://, both or neither. */
  tls: { cert: string; key: string } | undefined;
  help: boolean;
  version: boolean;
  /** Bearer token for the admin API, or undefined (no /admin). */
  adminToken: string | undefined;
  server: SignalServerOptions;
}

function integer(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new OptionsError(`--${name} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return n;
}

function url(name: string, text: string, schemes: RegExp): string {
  if (!schemes.test(text)) throw new OptionsError(`--${name} "${text}" is not a ${schemes.source} URL`);
  return text;
}

/** Parses argv (strict: unknown flags and malformed values are errors that name the flag). */
export function parseCliOptions(argv: string[], env: NodeJS.ProcessEnv = {}): CliOptions {
  let values: ReturnType<typeof parseArgs<{ options: typeof flags; strict: true }>>["values"];
  try {
    ({ values } = parseArgs({ args: argv, options: flags, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new OptionsError((err as Error).message);
  }
  const server: SignalServerOptions = {};
  const set = <K extends keyof SignalServerOptions>(key: K, value: SignalServerOptions[K] | undefined) => {
    if (value !== undefined) server[key] = value;
  };
  set("roomCapacity", integer("room-capacity", values["room-capacity"], 1, 10_000));
  set("roomsPerConnection", integer("rooms-per-connection", values["rooms-per-connection"], 1, 1000));
  set("maxMessageBytes", integer("max-message-bytes", values["max-message-bytes"], 1024, 16 * 1024 * 1024));
  set("messagesPerSecond", integer("messages-per-second", values["messages-per-second"], 1, 100_000));
  set("resumeWindowMs", integer("resume-window", values["resume-window"], 0, 3_600_000));
  set("outboxMessages", integer("outbox-messages", values["outbox-messages"], 1, 1_000_000));
  set("tokenSecret", values["token-secret"] ?? env.PARLEY_TOKEN_SECRET);
  set(
    "allowedOrigins",
    values["allowed-origin"]?.map((o) => url("allowed-origin", o, /^https?:\/\/[^/]+$/)),
  );
  const iceUrls = values["ice-url"]?.map((u) => url("ice-url", u, /^stuns?:/));
  if (iceUrls) set("iceServers", [{ urls: iceUrls } satisfies IceServer]);
  const turnUrls = values["turn-url"]?.map((u) => url("turn-url", u, /^(turns?|stun):/));
  const turnSecret = values["turn-secret"] ?? env.PARLEY_TURN_SECRET;
  if (turnUrls && !turnSecret)
    throw new OptionsError("--turn-url needs --turn-secret (the TURN server's static-auth-secret)");
  if (turnSecret && !turnUrls) throw new OptionsError("--turn-secret needs at least one --turn-url");
  if (turnSecret && turnUrls) {
    const ttl = integer("turn-ttl", values["turn-ttl"], 60, 7 * 86_400);
    set("turn", { secret: turnSecret, urls: turnUrls, ...(ttl ? { ttlSeconds: ttl } : {}) });
  }
  const redis = values.redis ?? env.PARLEY_REDIS_URL;
  const redisPrefix = values["redis-prefix"];
  if (redis !== undefined && !/^rediss?:\/\/\S+$/.test(redis))
    throw new OptionsError(`--redis must be a redis:// or rediss:// URL, got "${redis}"`);
  if (redisPrefix !== undefined && !/^[\w:.-]{1,64}$/.test(redisPrefix))
    throw new OptionsError(`--redis-prefix must be 1 to 64 letters, digits or _ : . -, got "${redisPrefix}"`);
  if (redisPrefix !== undefined && redis === undefined) throw new OptionsError("--redis-prefix needs --redis");
  if (redis) set("redis", redisPrefix ? { url: redis, prefix: redisPrefix } : redis);
  const { cert, key } = values;
  if ((cert === undefined) !== (key === undefined))
    throw new OptionsError(cert ? "--cert needs --key (the certificate's private key)" : "--key needs --cert");
  const adminToken = values["admin-token"] ?? env.PARLEY_ADMIN_TOKEN;
  if (adminToken !== undefined && adminToken.length < 16)
    throw new OptionsError(`--admin-token must be at least 16 characters, got ${adminToken.length}`);
  const path = values.path;
  if (path !== undefined && !path.startsWith("/")) throw new OptionsError(`--path must start with "/", got "${path}"`);
  return {
    port: integer("port", values.port, 0, 65535) ?? 8080,
    host: values.host ?? "0.0.0.0",
    path,
    tls: cert && key ? { cert, key } : undefined,
    help: values.help ?? false,
    version: values.version ?? false,
    adminToken,
    server,
  };
}
