// Every Prometheus metric moves when what it counts happens, and no label ever names a user or an address.
import { createSocket } from "node:dgram";
import type { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { createTurnServer, TurnClient, type TurnServer, turnMetrics } from "../src/index.js";

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Current value of `name` for the label set `labels`, summed over relay threads (0 when no series exists yet). */
async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  if (!metric) throw new Error(`no metric ${name}`);
  return (metric.values as Array<{ value: number; labels: Record<string, string | number> }>)
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

async function setup(relayThreads: number): Promise<{ server: TurnServer; registry: Registry; port: number }> {
  const server = await createTurnServer({
    relayThreads,
    listeningIps: ["127.0.0.1"],
    listeningPort: 0,
    realm: "north.gov",
    users: ["alice:secret", "bob:hunter2"],
    peerPolicy: { allowLoopback: true },
    userQuota: 2,
  }).listen();
  cleanup.push(() => server.close());
  return { server, registry: turnMetrics(server), port: server.addresses[0]!.port };
}

const connect = async (port: number, username = "alice", password = "secret") => {
  const c = await TurnClient.connect({ host: "127.0.0.1", port, username, password, timeoutMs: 3000 });
  cleanup.push(() => c.close());
  return c;
};

// With relay threads, events reach the server's thread a moment after the client's answer: hence expect.poll.
describe.each([1, 2])("turnMetrics with relayThreads %i", (relayThreads) => {
  it("moves each metric with what it counts", async () => {
    const { server, registry, port } = await setup(relayThreads);
    const before = async (name: string, labels?: Record<string, string>) => value(registry, name, labels);
    const moved = async (name: string, labels: Record<string, string> | undefined, start: number) =>
      expect.poll(() => value(registry, name, labels), { message: name }).toBeGreaterThan(start);

    const created0 = await before("parley_turn_allocations_created_total", { transport: "udp" });
    const challenge0 = await before("parley_turn_auth_failures_total", { reason: "missing_integrity" });
    const a = await connect(port);
    const relayA = (await a.allocate()).relayed;
    const b = await connect(port, "bob", "hunter2");
    const relayB = (await b.allocate()).relayed;
    await moved("parley_turn_allocations_created_total", { transport: "udp" }, created0);
    await moved("parley_turn_auth_failures_total", { reason: "missing_integrity" }, challenge0);
    await expect.poll(() => value(registry, "parley_turn_allocations_active", { transport: "udp" })).toBe(2);

    // Relay one message each way between the two allocations.
    await a.createPermission(relayB.address);
    await b.createPermission(relayA.address);
    const got = new Promise((resolve) => b.once("data", resolve));
    a.send(relayB, Buffer.from("12345678"));
    await got;
    await moved("parley_turn_relayed_packets_total", { direction: "to_peer" }, 0);
    await moved("parley_turn_relayed_packets_total", { direction: "to_client" }, 0);
    expect(await value(registry, "parley_turn_relayed_bytes_total", { direction: "to_peer" })).toBeGreaterThanOrEqual(
      8,
    );

    // A refused peer, counted by its rule and as a rejected CreatePermission.
    await a.createPermission("10.0.0.1").catch(() => undefined);
    await expect.poll(() => value(registry, "parley_turn_peer_denied_total", { rule: "private" })).toBe(1);
    await expect
      .poll(() => value(registry, "parley_turn_rejected_total", { method: "CreatePermission", code: "403" }))
      .toBe(1);

    // Wrong credentials, and a quota refusal (userQuota 2: alice's third allocation).
    const wrong = await connect(port, "alice", "nope");
    await wrong.allocate().catch(() => undefined);
    await moved("parley_turn_auth_failures_total", { reason: "wrong_credentials" }, 0);
    await (await connect(port)).allocate();
    await (await connect(port)).allocate().catch(() => undefined);
    await expect.poll(() => value(registry, "parley_turn_quota_refusals_total")).toBe(1);

    // A Binding request, and garbage.
    await a.binding();
    await moved("parley_turn_binding_requests_total", undefined, 0);
    const socket = createSocket("udp4");
    cleanup.push(() => socket.close());
    socket.send(Buffer.from("not stun at all, not channel data either"), port, "127.0.0.1");
    await expect.poll(() => value(registry, "parley_turn_dropped_total")).toBeGreaterThan(0);

    // Deleting: refresh 0, then the active gauge goes down and the deletion is counted by reason.
    await b.refresh(0);
    await expect
      .poll(() => value(registry, "parley_turn_allocations_deleted_total", { reason: "refresh-zero" }))
      .toBe(1);
    expect(await value(registry, "parley_turn_allocations_active", { transport: "udp" })).toBe(2);
    expect(await value(registry, "parley_turn_relay_threads")).toBe(server.relayThreads);
    expect(server.allocationCount).toBe(2);
  });

  it("never puts a user name or an address in a label", async () => {
    const { registry, port } = await setup(relayThreads);
    const c = await connect(port);
    await c.allocate();
    await c.createPermission("127.0.0.1");
    await c.createPermission("10.1.2.3").catch(() => undefined);
    const text = await registry.metrics();
    expect(text).not.toMatch(/alice|127\.0\.0\.1|10\.1\.2\.3/);
    for (const line of text.split("\n").filter((l) => l && !l.startsWith("#"))) {
      const labels = /\{(.*)\}/.exec(line)?.[1] ?? "";
      for (const [, key] of labels.matchAll(/(\w+)="/g)) {
        expect(["thread", "transport", "direction", "reason", "rule", "method", "code"]).toContain(key);
      }
    }
  });
});
