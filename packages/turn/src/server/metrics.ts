import { Counter, Gauge, Registry } from "prom-client";
import type { TurnServer } from "./server.js";

/**
 * Prometheus metrics for one TurnServer (prom-client; coturn's `--prometheus` port and idea). Every label has a
 * closed set of values — transport, direction, reason, rule, method, STUN code — never a user, an allocation or an
 * address: per-user labels are coturn's known cardinality trap. Counts that the server already keeps are read at
 * scrape time, so the relay path pays nothing; the rest follow the server's events.
 */
export function turnMetrics(server: TurnServer, registry = new Registry()): Registry {
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name: `parley_turn_${name}`, help, labelNames, registers: [registry] });

  /**
   * A counter read from the server's own counts at scrape time (it only ever catches up). `readings` maps each
   * label value to its reading; the key "" stands for a counter without labels.
   */
  const fromCounts = (name: string, help: string, readings: Record<string, () => number>, label?: string) => {
    const seen = new Map<string, number>();
    new Counter({
      name: `parley_turn_${name}`,
      help,
      labelNames: label ? [label] : [],
      registers: [registry],
      collect() {
        for (const [key, read] of Object.entries(readings)) {
          const now = read();
          const delta = now - (seen.get(key) ?? 0);
          if (delta > 0) label ? this.inc({ [label]: key }, delta) : this.inc(delta);
          seen.set(key, now);
        }
      },
    });
  };
  const fromCounters = (name: string, help: string, read: () => number) => fromCounts(name, help, { "": read });
  const byDirection = (name: string, help: string, read: Record<"to_peer" | "to_client", () => number>) =>
    fromCounts(name, help, read, "direction");
  fromCounters(
    "packets_in_total",
    "Datagrams and stream frames received from clients",
    () => server.counters.packetsIn,
  );
  fromCounters(
    "dropped_total",
    "Input dropped: not STUN or ChannelData, malformed, bad FINGERPRINT",
    () => server.counters.dropped,
  );
  fromCounters("binding_requests_total", "STUN Binding requests answered", () => server.counters.bindingRequests);
  fromCounters(
    "relay_dropped_total",
    "Packets not relayed: no permission or channel, bandwidth cap, own listener",
    () => server.counters.relayDropped,
  );
  fromCounters(
    "auth_rate_limited_total",
    "Requests with wrong credentials dropped past the per-address budget",
    () => server.counters.rateLimited,
  );
  fromCounters(
    "streams_timed_out_total",
    "TCP/TLS connections closed for setting up nothing in time",
    () => server.counters.streamsTimedOut,
  );
  byDirection("relayed_packets_total", "Packets relayed, by direction", {
    to_peer: () => server.counters.relayedToPeer,
    to_client: () => server.counters.relayedToClient,
  });
  byDirection("relayed_bytes_total", "Payload bytes relayed (UDP relays), by direction", {
    to_peer: () => server.counters.bytesToPeer,
    to_client: () => server.counters.bytesToClient,
  });

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
