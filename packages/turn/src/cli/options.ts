import { existsSync, readFileSync } from "node:fs";
import { BlockList, isIP } from "node:net";
import { availableParallelism } from "node:os";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { TurnError } from "../errors.js";
import { addRange } from "../server/peer-policy.js";
import type { TurnServerOptions } from "../server/server.js";

/**
 * coturn's turnserver flags, parsed with node:util's parseArgs (strict: an unknown flag is an error). Where coturn
 * has a short form we accept it too. The values become `TurnServerOptions`: the CLI is one user of the library.
 */
const flags = {
  "listening-ip": { type: "string", short: "L", multiple: true },
  "listening-port": { type: "string", short: "p" },
  "tls-listening-port": { type: "string" },
  "relay-ip": { type: "string", short: "E", multiple: true },
  "external-ip": { type: "string", short: "X", multiple: true },
  "min-port": { type: "string" },
  "max-port": { type: "string" },
  realm: { type: "string", short: "r" },
  "lt-cred-mech": { type: "boolean", short: "a" },
  "no-auth": { type: "boolean", short: "z" },
  user: { type: "string", short: "u", multiple: true },
  "use-auth-secret": { type: "boolean" },
  "static-auth-secret": { type: "string", multiple: true },
  cert: { type: "string" },
  pkey: { type: "string" },
  "cipher-list": { type: "string" },
  "log-file": { type: "string", short: "l" },
  verbose: { type: "boolean", short: "v" },
  Verbose: { type: "boolean", short: "V" },
  fingerprint: { type: "boolean", short: "f" },
  mobility: { type: "boolean" },
  "no-udp": { type: "boolean" },
  "no-tcp": { type: "boolean" },
  "no-tls": { type: "boolean" },
  "no-dtls": { type: "boolean" },
  "denied-peer-ip": { type: "string", multiple: true },
  "allowed-peer-ip": { type: "string", multiple: true },
  "allow-loopback-peers": { type: "boolean" },
  "allow-private-peers": { type: "boolean" },
  "user-quota": { type: "string", short: "q" },
  "total-quota": { type: "string", short: "Q" },
  "max-bps": { type: "string", short: "s" },
  "stale-nonce": { type: "string" },
  "max-allocate-lifetime": { type: "string" },
  "auth-failure-rate": { type: "string" },
  prometheus: { type: "boolean" },
  "prometheus-port": { type: "string" },
  "prometheus-address": { type: "string" },
  "no-config": { type: "boolean", short: "n" },
  config: { type: "string", short: "c" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  "relay-threads": { type: "string", short: "m" },
  // Accepted for compatibility; they configure coturn internals Parley does not have.
  "cli-password": { type: "string" },
  "no-cli": { type: "boolean" },
  syslog: { type: "boolean" },
  db: { type: "string", short: "b" },
  "no-stdout-log": { type: "boolean" },
  "simple-log": { type: "boolean" },
  pidfile: { type: "string" },
  "no-multicast-peers": { type: "boolean" },
  "no-software-attribute": { type: "boolean" },
} satisfies ParseArgsConfig["options"];

const ignored = [
  "cli-password",
  "no-cli",
  "syslog",
  "db",
  "no-stdout-log",
  "simple-log",
  "pidfile",
  "no-dtls",
] as const;

export interface CliConfig {
  server: TurnServerOptions;
  logFile: string | undefined;
  verbose: number;
  notices: string[];
  mobility: boolean;
  help: boolean;
  version: boolean;
  /** coturn's --prometheus: where to serve /metrics, or undefined. */
  prometheus: { host: string; port: number } | undefined;
}

/** Turns a turnserver.conf into argv: each "name=value" or "name" line is a long flag; # starts a comment. */
export function configFileArgs(path: string): string[] {
  if (!existsSync(path)) throw new TurnError("INVALID_OPTION", `-c ${path}: no such file`);
  const args: string[] = [];
  for (const [i, raw] of readFileSync(path, "utf8").split(/\r?\n/).entries()) {
    const line = raw.replace(/#.*$/, "").trim();
    if (!line) continue;
    const m = /^([A-Za-z][\w-]*)\s*(?:=\s*(.*))?$/.exec(line);
    if (!m) throw new TurnError("INVALID_OPTION", `${path}:${i + 1}: cannot read "${line}"`);
    args.push(m[2] === undefined ? `--${m[1]}` : `--${m[1]}=${m[2].replace(/^"(.*)"$/, "$1")}`);
  }
  return args;
}

export function parseCli(argv: string[]): CliConfig {
  // coturn's --stale-nonce takes an optional value; parseArgs needs one, so the bare flag gets coturn's default.
  const normalized = argv.map((a) => (a === "--stale-nonce" ? "--stale-nonce=600" : a));
  const first = parse(normalized);
  const configPath = first.values.config ?? (first.values["no-config"] ? undefined : undefined);
  const all = configPath ? [...configFileArgs(configPath), ...normalized] : normalized;
  const { values } = configPath ? parse(all) : first;

  const notices: string[] = [];
  for (const name of ignored) {
    if (values[name] !== undefined)
      notices.push(`--${name} is accepted for coturn compatibility and has no effect here`);
  }
  const realm = values.realm ?? "parley";
  const listeningIps = (values["listening-ip"] ?? ["127.0.0.1"]).map((ip) => address("--listening-ip", ip));
  const relayIps = values["relay-ip"]?.map((ip) => address("--relay-ip", ip));
  const externalIp = values["external-ip"]?.[0]
    ? address("--external-ip", values["external-ip"][0].split("/")[0]!)
    : undefined;

  if (values["use-auth-secret"] && !values["static-auth-secret"]?.length) {
    throw new TurnError("INVALID_OPTION", "--use-auth-secret needs at least one --static-auth-secret");
  }
  if (values["no-auth"] && (values["lt-cred-mech"] || values.user?.length)) {
    throw new TurnError("INVALID_OPTION", "--no-auth cannot be combined with --lt-cred-mech or --user");
  }
  for (const [flag, list] of [
    ["--denied-peer-ip", values["denied-peer-ip"]],
    ["--allowed-peer-ip", values["allowed-peer-ip"]],
  ] as const) {
    for (const range of list ?? []) {
      try {
        addRange(new BlockList(), range);
      } catch (err) {
        throw new TurnError("INVALID_OPTION", `${flag}: ${(err as Error).message}`);
      }
    }
  }
  let tls: TurnServerOptions["tls"];
  if (!values["no-tls"] && (values.cert || values.pkey)) {
    if (!values.cert || !values.pkey) throw new TurnError("INVALID_OPTION", "--cert and --pkey must be given together");
    tls = {
      cert: readFile("--cert", values.cert),
      key: readFile("--pkey", values.pkey),
      // OpenSSL's "ALL" includes suites Node's OpenSSL 3 refuses at security level 1+; map it to Node's default list.
      ...(values["cipher-list"] && values["cipher-list"] !== "ALL" ? { ciphers: values["cipher-list"] } : {}),
    };
  }
  const minPort = port("--min-port", values["min-port"], 49152);
  const maxPort = port("--max-port", values["max-port"], 65535);
  if (minPort > maxPort) throw new TurnError("INVALID_OPTION", `--min-port ${minPort} is above --max-port ${maxPort}`);

  return {
    server: {
      listeningIps,
      listeningPort: port("--listening-port", values["listening-port"], 3478),
      tlsListeningPort: port("--tls-listening-port", values["tls-listening-port"], 5349),
      ...(tls ? { tls } : {}),
      noUdp: values["no-udp"] ?? false,
      noTcp: values["no-tcp"] ?? false,
      ...(relayIps ? { relayIps } : {}),
      ...(externalIp ? { externalIp } : {}),
      minPort,
      maxPort,
      realm,
      users: values.user ?? [],
      authSecrets: values["use-auth-secret"] ? (values["static-auth-secret"] ?? []) : [],
      peerPolicy: {
        allowLoopback: values["allow-loopback-peers"] ?? false,
        allowPrivate: values["allow-private-peers"] ?? false,
        denied: values["denied-peer-ip"] ?? [],
        allowed: values["allowed-peer-ip"] ?? [],
      },
      userQuota: count("--user-quota", values["user-quota"], 0),
      totalQuota: count("--total-quota", values["total-quota"], 0),
      maxBytesPerSecond: count("--max-bps", values["max-bps"], 0),
      maxAllocateLifetime: count("--max-allocate-lifetime", values["max-allocate-lifetime"], 3600),
      nonceLifetime: count("--stale-nonce", values["stale-nonce"], 600),
      authFailureRate: count("--auth-failure-rate", values["auth-failure-rate"], 50),
      fingerprint: values.fingerprint ?? false,
      noAuth: values["no-auth"] ?? false,
      mobility: values.mobility ?? false,
      relayThreads: relayThreads(values["relay-threads"]),
      ...(values["no-software-attribute"] ? { software: false as const } : {}),
    },
    logFile: values["log-file"],
    verbose: values.Verbose ? 2 : values.verbose ? 1 : 0,
    notices,
    mobility: values.mobility ?? false,
    help: values.help ?? false,
    version: values.version ?? false,
    prometheus: values.prometheus
      ? {
          host: address("--prometheus-address", values["prometheus-address"] ?? "127.0.0.1"),
          port: port("--prometheus-port", values["prometheus-port"], 9641),
        }
      : undefined,
  };
}

function parse(args: string[]) {
  try {
    return parseArgs({ args, options: flags, strict: true, allowPositionals: false });
  } catch (err) {
    throw new TurnError("INVALID_OPTION", (err as Error).message);
  }
}

function address(flag: string, value: string): string {
  if (isIP(value) === 0) throw new TurnError("INVALID_OPTION", `${flag}: "${value}" is not an IP address`);
  return value;
}

function port(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d{1,5}$/.test(value) || n > 65535) {
    throw new TurnError("INVALID_OPTION", `${flag}: "${value}" is not a port number (0-65535)`);
  }
  return n;
}

function count(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,10}$/.test(value)) throw new TurnError("INVALID_OPTION", `${flag}: "${value}" is not a whole number`);
  return Number(value);
}

/** coturn's -m/--relay-threads: default one per core; 0 means the default too, as in coturn. */
function relayThreads(value: string | undefined): number {
  const cores = Math.min(availableParallelism(), 64);
  if (value === undefined) return cores;
  if (!/^\d{1,2}$/.test(value) || Number(value) > 64)
    throw new TurnError("INVALID_OPTION", `--relay-threads: "${value}" is not a thread count (0-64; 0 = one per core)`);
  return Number(value) === 0 ? cores : Number(value);
}

function readFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TurnError("INVALID_OPTION", `${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? "cannot read"}`);
  }
}
