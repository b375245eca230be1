import { createServer, type Server } from "node:http";
import { collectDefaultMetrics } from "prom-client";
import { turnMetrics } from "../server/metrics.js";
import type { TurnServer } from "../server/server.js";

/**
 * coturn's --prometheus: GET /metrics in Prometheus' text format, and GET / answers 200 as a health check. Resolves
 * once listening; rejects (with the address) if the port cannot be had.
 */
export async function servePrometheus(server: TurnServer, host: string, port: number): Promise<Server> {
  const registry = turnMetrics(server);
  collectDefaultMetrics({ register: registry, prefix: "parley_turn_" });
  const http = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (req.method !== "GET") return void res.writeHead(405, { allow: "GET" }).end();
    if (path === "/") return void res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    if (path !== "/metrics") return void res.writeHead(404).end();
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", (err) =>
      reject(new Error(`cannot serve Prometheus metrics on ${host}:${port}: ${err.message}`)),
    );
    http.listen(port, host, () => resolve());
  });
  return http;
}
