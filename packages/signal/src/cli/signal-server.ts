#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import { adminHandler } from "../server/admin.js";
import { metricsHandler, signalMetrics } from "../server/metrics.js";
import { createSignalServer } from "../server/server.js";
import { type CliOptions, OptionsError, parseCliOptions, USAGE } from "./options.js";
import { VERSION } from "./version.js";

/** Reads the PEM files named by --cert/--key; an unreadable one is a usage error that names its flag. */
function readTls(tls: NonNullable<CliOptions["tls"]>): { cert: Buffer; key: Buffer } {
  const read = (flag: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new OptionsError(`--${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return { cert: read("cert", tls.cert), key: read("key", tls.key) };
}

/** `parley-signal`: the server standalone. GET /healthz answers with the number of live sessions. */
async function main(): Promise<void> {
  let options: CliOptions;
  let tls: { cert: Buffer; key: Buffer } | undefined;
  try {
    options = parseCliOptions(process.argv.slice(2), process.env);
    if (options.tls && !options.help && !options.version) tls = readTls(options.tls);
  } catch (err) {
    if (!(err instanceof OptionsError)) throw err;
    process.stderr.write(`parley-signal: ${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (options.version) {
    process.stdout.write(`parley-signal ${VERSION}\n`);
    return;
  }
  const signal = createSignalServer({
    ...options.server,
    onStoreError: (err) => process.stderr.write(`parley-signal: store error: ${err.message}\n`),
  });
  const metrics = metricsHandler(signalMetrics(signal));
  const admin = options.adminToken ? adminHandler(signal, { token: options.adminToken, prefix: "/admin" }) : undefined;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === "/metrics") return metrics(req, res);
    if (admin && (req.url === "/admin" || req.url?.startsWith("/admin/"))) return admin(req, res);
    if (req.url === "/healthz") {
      const redis = signal.node === undefined ? {} : { redis: signal.storeAvailable ? "up" : "down" };
      const body = JSON.stringify({ sessions: signal.sessionCount, ...redis });
      res.writeHead(200, { "content-type": "application/json" }).end(body);
      return;
    }
    res.writeHead(426, { "content-type": "text/plain" }).end("WebSocket upgrade required\n");
  };
  let http: ReturnType<typeof createServer>;
  try {
    http = tls ? createTlsServer(tls, onRequest) : createServer(onRequest);
  } catch (err) {
    // Node's own words for a bad PEM ("no start line", "key values mismatch") name the problem.
    process.stderr.write(`parley-signal: --cert/--key: ${(err as Error).message}\n`);
    process.exit(2);
  }
  signal.attach(http, options.path);
  http.on("error", (err) => {
    process.stderr.write(`parley-signal: cannot listen on ${options.host}:${options.port}: ${err.message}\n`);
    process.exit(1);
  });
  if (options.server.redis !== undefined && !(await signal.ready(5000))) {
    process.stderr.write("parley-signal: Redis not reachable yet; requests are answered UNAVAILABLE until it is\n");
  }
  http.listen(options.port, options.host, () => {
    const address = http.address();
    const port = typeof address === "object" && address ? address.port : options.port;
    const auth = options.server.tokenSecret ? "HS256 tokens required" : "open access (no --token-secret)";
    const shared = signal.node ? `, node ${signal.node} on Redis` : "";
    const scheme = tls ? "wss" : "ws";
    process.stdout.write(
      `parley-signal ready on ${scheme}://${options.host}:${port}${options.path ?? "/"} (${auth}${shared})\n`,
    );
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("parley-signal: shutting down, telling clients and draining\n");
    await signal.close();
    http.closeAllConnections();
    http.close(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((err: Error) => {
  process.stderr.write(`parley-signal: ${err.message}\n`);
  process.exit(1);
});
