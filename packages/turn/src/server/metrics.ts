import { Counter, Gauge, Registry } from "prom-client";
import type { TurnServer, TurnServerCounters } from "./server.js";

/**
 * Prometheus metrics for one TurnServer (prom-client; coturn's `--prometheus` port and idea). Every label has a
 * closed set of values — transport, direction, reason, rule, method, STUN code — never a user, an allocation or an
 * address: per-user labels are coturn's known cardinality trap (`thread` is a relay thread's number, bounded by
 * relayThreads). Counts that the server already keeps are read at scrape time, so the relay path pays nothing; the
 * rest follow the server's events.
 */
export function turnMetrics(server: TurnServer, registry = new Registry()): Registry {
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name: `parley_turn_${name}`, help, labelNames, registers: [registry] });

  /**
   * Relay threads report their counts on request: one refresh serves every metric of a scrape (prom-client collects
   * the metrics one after another, within a few milliseconds).
   */
  let refreshing: Promise<void> | undefined;
  const refresh = () => {
    refreshing ??= server.refreshCounters().finally(() => {
      setTimeout(() => {
        refreshing = undefined;
      }, 50).unref();
    });
    return refreshing;
  };

  /**
   * A counter read from the server's own counts at scrape time (it only ever catches up), one series per relay
   * thread (label `thread`). `readings` maps each value of `label` to what it reads; without `label`, the key "".
   */
  const fromCounts = (
    name: string,
    help: string,
    readings: Record<string, (c: TurnServerCounters) => number>,
    label?: string,
  ) => {
    const seen = new Map<string, number>();
    new Counter({
      name: `parley_turn_${name}`,
      help,
      labelNames: label ? ["thread", label] : ["thread"],
      registers: [registry],
      async collect() {
        await refresh();
        for (const [thread, counts] of server.threadCounters.entries()) {
          for (const [key, read] of Object.entries(readings)) {
            const now = read(counts);
            const id = `${thread}|${key}`;
            const delta = now - (seen.get(id) ?? 0);
            const labels = label ? { thread: String(thread), [label]: key } : { thread: String(thread) };
            if (delta > 0) this.inc(labels, delta);
            else if (!seen.has(id)) this.inc(labels, 0);
            seen.set(id, now);
          }
        }
      },
    });
  };
  const fromCounters = (name: string, help: string, read: (c: TurnServerCounters) => number) =>
    fromCounts(name, help, { "": read });
  const byDirection = (
    name: string,
    help: string,
    read: Record<"to_peer" | "to_client", (c: TurnServerCounters) => number>,
  ) => fromCounts(name, help, read, "direction");
  fromCounters("packets_in_total", "Datagrams and stream frames received from clients", (c) => c.packetsIn);
  fromCounters("dropped_total", "Input dropped: not STUN or ChannelData, malformed, bad FINGERPRINT", (c) => c.dropped);
  fromCounters("binding_requests_total", "STUN Binding requests answered", (c) => c.bindingRequests);
  fromCounters(
    "relay_dropped_total",
    "Packets not relayed: no permission or channel, bandwidth cap, own listener",
    (c) => c.relayDropped,
  );
  fromCounters(
    "auth_rate_limited_total",
    "Requests with wrong credentials dropped past the per-address budget",
    (c) => c.rateLimited,
  );
  fromCounters(
    "streams_timed_out_total",
    "TCP/TLS connections closed for setting up nothing in time",
    (c) => c.streamsTimedOut,
  );
  byDirection("relayed_packets_total", "Packets relayed, by direction", {
    to_peer: (c) => c.relayedToPeer,
    to_client: (c) => c.relayedToClient,
  });
  byDirection("relayed_bytes_total", "Payload bytes relayed (UDP relays), by direction", {
    to_peer: (c) => c.bytesToPeer,
    to_client: (c) => c.bytesToClient,
  });
  new Gauge({
    name: "parley_turn_relay_threads",
    help: "Relay threads running",
    registers: [registry],
    collect() {
      this.set(server.relayThreads);
    },
  });
  const restarts = new Counter({
    name: "parley_turn_relay_thread_restarts_total",
    help: "Relay threads replaced after they failed",
    registers: [registry],
  });
  server.on("relay-thread-error", () => restarts.inc());

  const active = new Gauge({
    name: "parley_turn_allocations_active",
    help: "Allocations now, by client transport",
    labelNames: ["transport"],
    registers: [registry],
  });
  for (const transport of ["udp", "tcp", "tls"]) active.set({ transport }, 0);
  const created = counter("allocations_created_total", "Allocations created, by client transport", ["transport"]);
  const deleted = counter("allocations_deleted_total", "Allocations removed, by reason", ["reason"]);
  server.on("allocation-created", (a) => {
    created.inc({ transport: a.client.transport });
    active.inc({ transport: a.client.transport });
  });
  server.on("allocation-deleted", (a) => {
    deleted.inc({ reason: closedSet(a.reason, ["expired", "refresh-zero", "closed"]) });
    active.dec({ transport: a.client.transport });
  });

  const authFailures = counter("auth_failures_total", "Requests answered 401/438, by reason", ["reason"]);
  server.on("auth-failure", (f) => authFailures.inc({ reason: AUTH_REASONS[f.reason] ?? "other" }));
  const denied = counter("peer_denied_total", "Peers refused, by the rule that refused them", ["rule"]);
  server.on("peer-denied", (d) => denied.inc({ rule: d.rule }));
  const rejected = counter("rejected_total", "Requests refused with an error response, by method and STUN code", [
    "method",
    "code",
  ]);
  // Method names are a closed set; a request of an unknown method is named by number, so it is counted as "other".
  server.on("rejected", (r) =>
    rejected.inc({ method: r.method.startsWith("0x") ? "other" : r.method, code: String(r.code) }),
  );
  const quota = counter("quota_refusals_total", "Allocations refused by a quota (486)");
  server.on("rejected", (r) => {
    if (r.code === 486) quota.inc();
  });
  return registry;
}

/** The server's auth-failure reasons, as label values. */
const AUTH_REASONS: Record<string, string> = {
  "authentication required": "missing_integrity",
  "nonce expired": "stale_nonce",
  "nonce not issued here": "bad_nonce",
  "wrong credentials": "wrong_credentials",
  "unknown user or realm": "unknown_user",
};

function closedSet(value: string, allowed: readonly string[]): string {
  return allowed.includes(value) ? value : "other";
}
