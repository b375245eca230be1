import type { IncomingMessage, ServerResponse } from "node:http";
import { Counter, Gauge, Registry } from "prom-client";
import { SignalErrorCode } from "../protocol/errors.js";
import type { SignalServerCounters } from "./counters.js";
import type { SignalServer } from "./server.js";

/**
 * Prometheus metrics for one SignalServer (prom-client). Labels come from closed sets (message type, error code),
 * never a session, a room or an address. Everything is read from the server's counters at scrape time.
 */
export function signalMetrics(server: SignalServer, registry = new Registry()): Registry {
  new Gauge({
    name: "parley_signal_sessions",
    help: "Live sessions (connected, or detached within their resume window)",
    registers: [registry],
    collect() {
      this.set(server.sessionCount);
    },
  });
  new Gauge({
    name: "parley_signal_rooms",
    help: "Rooms with members (in-memory store; absent for stores that cannot count)",
    registers: [registry],
    collect() {
      const rooms = server.roomCount;
      if (rooms !== undefined) this.set(rooms);
    },
  });
  if (server.node !== undefined) {
    new Gauge({
      name: "parley_signal_store_up",
      help: "1 while this node can reach Redis (the redis option), 0 while requests are answered UNAVAILABLE",
      registers: [registry],
      collect() {
        this.set(server.storeAvailable ? 1 : 0);
      },
    });
  }
  const total = (name: string, help: string, read: (c: SignalServerCounters) => number) => {
    let seen = 0;
    new Counter({
      name: `parley_signal_${name}`,
      help,
      registers: [registry],
      collect() {
        const now = read(server.counters);
        if (now > seen) this.inc(now - seen);
        seen = now;
      },
    });
  };
  total("sessions_created_total", "Sessions created (each hello without a resume)", (c) => c.sessionsCreated);
  total("resumes_total", "Sessions resumed on a new connection", (c) => c.resumes);
  total("resumes_refused_total", "Resumes refused with SESSION_EXPIRED", (c) => c.resumesRefused);
  total(
    "outbox_overflows_total",
    "Resumes refused because messages the client had not seen were dropped from the outbox",
    (c) => c.outboxOverflows,
  );
  total("rate_limited_total", "Messages refused by the per-connection rate limit", (c) => c.rateLimited);
  const labelled = <K extends string>(
    name: string,
    help: string,
    label: string,
    keys: readonly K[],
    read: () => Partial<Record<K, number>>,
  ) => {
    const seen = new Map<K, number>();
    new Counter({
      name: `parley_signal_${name}`,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        const now = read();
        for (const key of keys) {
          const value = now[key] ?? 0;
          const before = seen.get(key) ?? 0;
          // Touch every series at zero first, so dashboards see them before they happen.
          this.inc({ [label]: key }, value > before ? value - before : 0);
          seen.set(key, value);
        }
      },
    });
  };
  labelled("messages_total", "Valid client messages, by type", "type", MESSAGE_TYPES, () => server.counters.messages);
  labelled(
    "errors_total",
    "Error messages sent to clients, by code",
    "code",
    Object.values(SignalErrorCode),
    () => server.counters.errors,
  );
  return registry;
}

const MESSAGE_TYPES = ["hello", "ping", "signal", "join", "leave", "broadcast"] as const;

/**
 * An http request handler serving `registry` (GET only), for mounting at /metrics in an app that embeds the server:
 * `app.get("/metrics", metricsHandler(signalMetrics(signal)))`, or from a plain http server's request listener.
 */
export function metricsHandler(registry: Registry): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return void res.writeHead(405, { allow: "GET, HEAD" }).end();
    registry.metrics().then(
      (text) =>
        res.writeHead(200, { "content-type": registry.contentType }).end(req.method === "HEAD" ? undefined : text),
      (err: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`${err.message}\n`),
    );
  };
}
