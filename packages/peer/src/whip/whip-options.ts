import { integerOption as integer, invalidOption as invalid } from "../options.js";
import type { WhipOptions } from "./whip-server.js";

/** WhipOptions with defaults applied, each checked: a bad value throws PeerError INVALID_OPTION naming it. */
export function resolveWhipOptions(options: WhipOptions) {
  if (typeof options !== "object" || options === null) invalid("options", options, "an object");
  const { signalUrl } = options;
  if (typeof signalUrl !== "string" || !/^wss?:\/\/[^/\s]+/.test(signalUrl)) {
    invalid("signalUrl", signalUrl, "a ws:// or wss:// URL");
  }
  const prefix = options.prefix ?? "";
  if (typeof prefix !== "string" || !/^(\/[\w.~-]+)*$/.test(prefix)) {
    invalid("prefix", prefix, 'a path like "/media" (no trailing slash), or ""');
  }
  const allowOrigin = options.allowOrigin ?? "*";
  if (allowOrigin !== false && (typeof allowOrigin !== "string" || !/^(\*|https?:\/\/[^\s/]+)$/.test(allowOrigin))) {
    invalid("allowOrigin", allowOrigin, '"*", an origin like "https://app.example", or false');
  }
  if (options.iceServers !== undefined && !Array.isArray(options.iceServers)) {
    invalid("iceServers", options.iceServers, "an array of { urls, username?, credential? }");
  }
  return {
    signalUrl,
    prefix,
    allowOrigin,
    iceServers: options.iceServers,
    maxSessions: integer("maxSessions", options.maxSessions, 50, 1, 100_000),
    maxBodyBytes: integer("maxBodyBytes", options.maxBodyBytes, 64 * 1024, 1024, 1024 * 1024),
    connectTimeoutMs: integer("connectTimeoutMs", options.connectTimeoutMs, 15_000, 1000, 600_000),
    peer: options.peer ?? {},
    rtc: options.rtc ?? {},
  };
}
