import { SignalError, SignalErrorCode } from "../protocol/errors.js";
import type { SignalServerOptions } from "./server.js";

/** [option, smallest, largest]: every numeric option, with the range it must fall in. */
const RANGES: ReadonlyArray<readonly [keyof SignalServerOptions, number, number]> = [
  ["maxMessageBytes", 1024, 16 * 1024 * 1024],
  ["messagesPerSecond", 1, 10_000_000],
  ["roomsPerConnection", 1, 10_000],
  ["roomCapacity", 1, 100_000],
  ["resumeWindowMs", 0, 24 * 3_600_000],
  ["outboxMessages", 1, 1_000_000],
  ["outboxBytes", 1024, 1024 * 1024 * 1024],
  ["heartbeatMs", 100, 3_600_000],
  ["helloTimeoutMs", 100, 3_600_000],
  ["drainMs", 0, 600_000],
];

const fail = (message: string): never => {
  throw new SignalError(SignalErrorCode.InvalidOption, message);
};

/**
 * Checks `createSignalServer` options before anything starts: a bad value throws SignalError INVALID_OPTION naming
 * the option and the value, for every program that embeds the server (the CLI checks its flags as well).
 */
export function validateOptions(options: SignalServerOptions): void {
  if (typeof options !== "object" || options === null) fail("createSignalServer expects an options object");
  for (const [name, min, max] of RANGES) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
      fail(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  if (options.tokenSecret !== undefined && (typeof options.tokenSecret !== "string" || options.tokenSecret === ""))
    fail("tokenSecret must be a non-empty string");
  const origins = options.allowedOrigins;
  if (origins !== undefined && (!Array.isArray(origins) || origins.some((o) => typeof o !== "string")))
    fail("allowedOrigins must be an array of origins such as https://app.example.org");
  const redis = options.redis;
  if (redis !== undefined) {
    const url = typeof redis === "object" && redis !== null ? redis.url : redis;
    if (typeof url !== "string" || !/^rediss?:\/\/[^\s]+$/.test(url))
      fail(`redis must be a redis:// or rediss:// URL (or { url, prefix }), got ${JSON.stringify(redis)}`);
    const prefix = typeof redis === "object" ? redis.prefix : undefined;
    if (prefix !== undefined && (typeof prefix !== "string" || !/^[\w:.-]{1,64}$/.test(prefix)))
      fail(`redis.prefix must be 1 to 64 letters, digits or _ : . -, got ${JSON.stringify(prefix)}`);
    if (options.store !== undefined) fail("store and redis cannot both be given: with redis, rooms live in Redis");
  }
  const turn = options.turn;
  if (turn !== undefined) {
    if (typeof turn.secret !== "string" || turn.secret === "") fail("turn.secret must be a non-empty string");
    if (!Array.isArray(turn.urls) || turn.urls.length === 0 || turn.urls.some((u) => !/^(turns?|stun):/.test(u)))
      fail(`turn.urls must be turn:, turns: or stun: URLs, got ${JSON.stringify(turn.urls)}`);
    const ttl = turn.ttlSeconds;
    if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 1 || ttl > 7 * 86_400))
      fail(`turn.ttlSeconds must be an integer from 1 to 604800, got ${JSON.stringify(ttl)}`);
  }
}
