import { isIP } from "node:net";
import { TurnError } from "../errors.js";
import type { TurnServerOptions } from "./server.js";

/** [option, smallest, largest]: every numeric option, with the range it must fall in. */
const RANGES: ReadonlyArray<readonly [keyof TurnServerOptions, number, number]> = [
  ["listeningPort", 0, 65535],
  ["tlsListeningPort", 0, 65535],
  ["minPort", 1, 65535],
  ["maxPort", 1, 65535],
  ["userQuota", 0, 1_000_000],
  ["totalQuota", 0, 10_000_000],
  ["maxBytesPerSecond", 0, 2 ** 40],
  ["maxAllocateLifetime", 1, 86_400 * 365],
  ["nonceLifetime", 1, 86_400 * 365],
  ["authFailureRate", 0, 10_000_000],
  ["maxStreamBacklog", 1024, 2 ** 31],
  ["streamSetupTimeoutMs", 100, 86_400_000],
  ["relayThreads", 1, 64],
];

const fail = (message: string): never => {
  throw new TurnError("INVALID_OPTION", message);
};

/**
 * Checks `createTurnServer` options before anything is opened, so a program that embeds the server gets a typed
 * INVALID_OPTION naming the option and the value — not a crash at listen time or a silently odd server. The CLI
 * checks its flags too, in coturn's terms; this is what every caller of the library gets.
 */
export function validateOptions(options: TurnServerOptions): void {
  if (typeof options !== "object" || options === null) fail("createTurnServer expects an options object");
  for (const [name, min, max] of RANGES) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
      fail(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  const minPort = options.minPort ?? 49152;
  const maxPort = options.maxPort ?? 65535;
  if (minPort > maxPort) fail(`minPort ${minPort} is above maxPort ${maxPort}`);
  for (const name of ["listeningIps", "relayIps"] as const) {
    const list = options[name];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.length === 0) fail(`${name} must be a non-empty array of IP addresses`);
    for (const ip of list)
      if (typeof ip !== "string" || isIP(ip) === 0) fail(`${name}: ${JSON.stringify(ip)} is not an IP address`);
  }
  if (options.externalIp !== undefined && (typeof options.externalIp !== "string" || isIP(options.externalIp) === 0))
    fail(`externalIp: ${JSON.stringify(options.externalIp)} is not an IP address`);
  if (
    options.realm !== undefined &&
    (typeof options.realm !== "string" || options.realm.length === 0 || Buffer.byteLength(options.realm) > 763)
  )
    fail(
      `realm must be a non-empty string of at most 763 bytes (RFC 8489 §14.9), got ${JSON.stringify(options.realm)}`,
    );
  if (options.noUdp && options.noTcp && !options.tls) fail("noUdp and noTcp without tls leave nothing to listen on");
  for (const name of ["users", "authSecrets"] as const) {
    const list = options[name];
    if (list !== undefined && (!Array.isArray(list) || list.some((v) => typeof v !== "string" || v.length === 0)))
      fail(`${name} must be an array of non-empty strings`);
  }
  for (const user of options.users ?? [])
    if (!/^[^:]+:.+$/.test(user)) fail(`users: "${user.split(":")[0]}…" is not "name:password" or "name:0x<key>"`);
  const algorithms = options.passwordAlgorithms;
  if (
    algorithms !== undefined &&
    (!Array.isArray(algorithms) || algorithms.length === 0 || algorithms.some((a) => a !== "sha256" && a !== "md5"))
  )
    fail(`passwordAlgorithms must be a non-empty list of "sha256" and "md5", got ${JSON.stringify(algorithms)}`);
}
