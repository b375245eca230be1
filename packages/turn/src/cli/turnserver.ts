#!/usr/bin/env node
// parley-turn: a TURN server that takes coturn's command line. `parley-turn probe …` checks a TURN server instead.
import { createWriteStream, type WriteStream } from "node:fs";
import { parseArgs } from "node:util";
import { probe } from "../client/probe.js";
import { TurnError } from "../errors.js";
import { createTurnServer } from "../server/server.js";
import { parseCli } from "./options.js";
import { servePrometheus } from "./prometheus.js";
import { VERSION } from "./version.js";

const USAGE = `Usage: parley-turn [coturn turnserver flags]
       parley-turn probe URL -u USER -p PASSWORD [-k] [--timeout MS]   check a TURN server (--help for more)
  -L, --listening-ip IP       listen address (repeatable; default 127.0.0.1)
  -p, --listening-port N      UDP/TCP port (default 3478)
      --tls-listening-port N  TLS port (default 5349; needs --cert and --pkey)
  -E, --relay-ip IP           relay address (repeatable)
  -X, --external-ip IP        address advertised for relays (1:1 NAT)
      --min-port/--max-port   relay port range (default 49152-65535)
  -r, --realm R               realm (default "parley")
  -a, --lt-cred-mech          long-term credentials (always on)
  -u, --user name:pass | name:0x<key>   static user (repeatable)
      --use-auth-secret --static-auth-secret S   TURN REST credentials (secret repeatable)
      --cert F --pkey F [--cipher-list L]        TLS
      --denied-peer-ip R / --allowed-peer-ip R   peer ranges (a.b.c.d, a-b, CIDR)
      --allow-loopback-peers  permit 127.0.0.0/8 and ::1 peers
      --allow-private-peers   permit private and special-purpose ranges (10/8, 172.16/12, 192.168/16, 100.64/10,
                              fc00::/7 …), refused by default (coturn relays to them by default)
  -q, --user-quota N  -Q, --total-quota N  -s, --max-bps N  --max-allocate-lifetime S  --stale-nonce[=S]
      --auth-failure-rate N   wrong-credential requests per second per client address before they are dropped
                              (default 50, 0 = no limit; first requests and stale nonces are always answered)
  -f, --fingerprint   -v/-V verbose   --log-file F|stdout   -c turnserver.conf   -n (no config file)
      --no-udp --no-tcp --no-tls   --mobility
  -m, --relay-threads N       relay threads sharing the listening ports (SO_REUSEPORT; default one per core,
                              Node 22.12+ on Linux; 0 = one per core)
      --prometheus [--prometheus-port N (9641)] [--prometheus-address IP (127.0.0.1)]   GET /metrics
  -h, --help   --version
`;

const PROBE_USAGE = `Usage: parley-turn probe URL -u USER -p PASSWORD [-k] [--timeout MS]
  Checks a TURN server step by step: reach it, get a reflexive address, authenticate, allocate twice and relay a
  message each way between the two allocations (no outside peer needed). Prints ✓ or ✗ per step with the usual
  cause; exit 0 if every step passed, 1 if one failed, 2 for a usage error.
  URL                     turn:HOST:PORT?transport=udp|tcp or turns:HOST:PORT (TLS)
  -u, --user USER         username (for TURN REST credentials: "expiry:user")
  -p, --password PASS     password
  -k, --insecure          turns: accept a certificate that does not verify (self-signed test servers)
      --timeout MS        give up after MS milliseconds (default 5000)
  -h, --help
`;

async function runProbe(argv: string[]): Promise<number> {
  let values: { user?: string; password?: string; insecure?: boolean; timeout?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        user: { type: "string", short: "u" },
        password: { type: "string", short: "p" },
        insecure: { type: "boolean", short: "k" },
        timeout: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    console.error(`parley-turn probe: ${(err as Error).message}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(PROBE_USAGE);
    return 0;
  }
  if (positionals.length !== 1 || !values.user || values.password === undefined) {
    process.stderr.write(PROBE_USAGE);
    return 2;
  }
  const timeoutMs = values.timeout === undefined ? 5000 : Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) {
    console.error(`parley-turn probe: --timeout must be an integer from 1 to 600000 ms, got "${values.timeout}"`);
    return 2;
  }
  try {
    const ok = await probe({
      url: positionals[0]!,
      username: values.user,
      password: values.password,
      insecure: values.insecure ?? false,
      timeoutMs,
    });
    return ok ? 0 : 1;
  } catch (err) {
    console.error(`parley-turn probe: ${(err as Error).message}`);
    return 2;
  }
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "probe") return runProbe(argv.slice(1));
  let config: ReturnType<typeof parseCli>;
  try {
    config = parseCli(argv);
  } catch (err) {
    console.error(`parley-turn: ${(err as Error).message}`);
    console.error("run parley-turn --help for the flags");
    return 2;
  }
  if (config.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (config.version) {
    console.log(`parley-turn ${VERSION}`);
    return 0;
  }
  let file: WriteStream | undefined;
  const log = (line: string) => {
    const text = `${new Date().toISOString()} ${line}\n`;
    if (file) file.write(text);
    else process.stdout.write(text);
  };
  if (config.logFile && config.logFile !== "stdout" && config.logFile !== "-") {
    file = createWriteStream(config.logFile, { flags: "a" });
  }
  for (const notice of config.notices) log(`notice: ${notice}`);

  if (config.server.noAuth) log("warning: --no-auth makes this an open relay; use it only on a closed test network");
  const server = createTurnServer(config.server);
  if (config.verbose > 0) {
    server.on("allocation-created", (a) =>
      log(
        `allocation created: user=${a.username} client=${a.client.transport}:${a.client.address}:${a.client.port} relay=${a.relay.address}:${a.relay.port} lifetime=${a.lifetime}`,
      ),
    );
    server.on("allocation-deleted", (a) =>
      log(`allocation deleted (${a.reason}): user=${a.username} relay=${a.relay.address}:${a.relay.port}`),
    );
    server.on("allocation-moved", (a) =>
      log(
        `allocation moved (mobility): user=${a.username} from ${a.from.address}:${a.from.port} to ${a.client.address}:${a.client.port}`,
      ),
    );
    server.on("auth-failure", (a) =>
      log(`auth failure: ${a.client.address}:${a.client.port} user="${a.username}": ${a.reason}`),
    );
  }
  if (config.verbose > 1) {
    server.on("permission", (p) => log(`permission: user=${p.username} peer=${p.peer}`));
    server.on("channel", (c) =>
      log(`channel: user=${c.username} 0x${c.channel.toString(16)} -> ${c.peer.address}:${c.peer.port}`),
    );
    server.on("rejected", (r) =>
      log(`rejected ${r.method} from ${r.client.address}:${r.client.port}: ${r.code} ${r.reason}`),
    );
  }
  try {
    await server.listen();
  } catch (err) {
    console.error(`parley-turn: ${(err as Error).message}`);
    return 1;
  }
  let metrics: Awaited<ReturnType<typeof servePrometheus>> | undefined;
  if (config.prometheus) {
    try {
      metrics = await servePrometheus(server, config.prometheus.host, config.prometheus.port);
    } catch (err) {
      console.error(`parley-turn: ${(err as Error).message}`);
      await server.close();
      return 1;
    }
    const bound = metrics.address();
    const at = typeof bound === "object" && bound ? `${bound.address}:${bound.port}` : "?";
    log(`prometheus: http://${at}/metrics`);
  }
  for (const a of server.addresses) log(`listening: ${a.transport} ${a.address}:${a.port}`);
  log(`relay threads: ${server.relayThreads}`);
  if (server.threadNotice) log(`notice: ${server.threadNotice}`);
  server.on("relay-thread-error", (e) => log(`relay thread ${e.thread} failed and is replaced: ${e.message}`));
  log(server.peerPolicy);
  log(`realm "${config.server.realm}", ready`);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  log("shutting down");
  metrics?.close();
  await server.close();
  file?.end();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`parley-turn: ${err instanceof TurnError ? err.message : String(err)}`);
    process.exit(1);
  },
);
