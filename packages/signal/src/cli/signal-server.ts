#!/usr/bin/env node
import { createServer } from "node:http";
import { createSignalServer } from "../server/server.js";
import { OptionsError, parseCliOptions, USAGE } from "./options.js";

/** `parley-signal`: the server standalone. GET /healthz answers with the number of live sessions. */
async function main(): Promise<void> {
  let options: ReturnType<typeof parseCliOptions>;
  try {
    options = parseCliOptions(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof OptionsError)) throw err;
    process.stderr.write(`parley-signal: ${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const signal = createSignalServer(options.server);
  const http = createServer((req, res) => {
    if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ sessions: signal.sessionCount }));
      return;
    }
    res.writeHead(426, { "content-type": "text/plain" }).end("WebSocket upgrade required\n");
  });
  signal.attach(http, options.path);
  http.on("error", (err) => {
    process.stderr.write(`parley-signal: cannot listen on ${options.host}:${options.port}: ${err.message}\n`);
    process.exit(1);
  });
  http.listen(options.port, options.host, () => {
    const address = http.address();
    const port = typeof address === "object" && address ? address.port : options.port;
    const auth = options.server.tokenSecret ? "HS256 tokens required" : "open access (no --token-secret)";
    process.stdout.write(`parley-signal ready on ws://${options.host}:${port}${options.path ?? "/"} (${auth})\n`);
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
