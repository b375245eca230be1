// Every Prometheus metric of the signalling server moves when what it counts happens, and no label names a session,
// a room or an address.
import type { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { createSignalServer, SignalClient, type SignalServer, signalMetrics } from "../src/index.js";
import { nextEvent } from "./helpers/events.js";
import { rawSocket } from "./helpers/raw-socket.js";
import { startTcpProxy, type TcpProxy } from "./helpers/tcp-proxy.js";

let server: SignalServer;
let proxy: TcpProxy | undefined;
const clients: SignalClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await proxy?.close();
  proxy = undefined;
  await server.close();
});

async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  if (!metric) throw new Error(`no metric ${name}`);
  const series = (metric.values as Array<{ value: number; labels: Record<string, string | number> }>).find((v) =>
    Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
  );
  return series?.value ?? 0;
}

describe("signalMetrics", () => {
  it("counts sessions, rooms, messages by type, errors by code, rate limiting and resumes", async () => {
    server = createSignalServer({ messagesPerSecond: 5, outboxMessages: 2 });
    const registry = signalMetrics(server);
    const port = await server.listen(0);
    proxy = await startTcpProxy(port);
    const fast = { reconnect: { initialDelayMs: 20, maxDelayMs: 100 } };
    const alice = await SignalClient.connect(`ws://127.0.0.1:${proxy.port}`, fast);
    const bob = await SignalClient.connect(`ws://127.0.0.1:${port}`);
    clients.push(alice, bob);
    await alice.join("standup");
    await bob.join("standup");
    expect(await value(registry, "parley_signal_sessions")).toBe(2);
    expect(await value(registry, "parley_signal_rooms")).toBe(1);
    expect(await value(registry, "parley_signal_sessions_created_total")).toBe(2);
    expect(await value(registry, "parley_signal_messages_total", { type: "join" })).toBe(2);
    expect(await value(registry, "parley_signal_messages_total", { type: "hello" })).toBe(2);
    expect(await value(registry, "parley_signal_messages_total", { type: "broadcast" })).toBe(0);

    // A resume after a cut.
    proxy.cut();
    await nextEvent(alice, "resumed", 5000);
    expect(await value(registry, "parley_signal_resumes_total")).toBe(1);

    // Bad JSON and a flood from a raw socket.
    const raw = await rawSocket(`ws://127.0.0.1:${port}`);
    raw.ws.send("{not json");
    await expect
      .poll(() => value(registry, "parley_signal_errors_total", { code: "BAD_JSON" }), { timeout: 2000 })
      .toBe(1);
    for (let i = 0; i < 30; i++) raw.send({ type: "ping", id: `p${i}` });
    await expect.poll(() => value(registry, "parley_signal_rate_limited_total"), { timeout: 2000 }).toBeGreaterThan(0);
    expect(await value(registry, "parley_signal_errors_total", { code: "RATE_LIMITED" })).toBe(1);
    raw.ws.close();

    // A resume that cannot be honoured: the detached session's outbox (2 messages) overflows meanwhile, which is
    // known (and counted) when the client comes back with the last seq it saw.
    proxy.refusing = true;
    proxy.cut();
    await nextEvent(alice, "reconnecting");
    for (let n = 0; n < 5; n++) await bob.signal("standup", alice.sessionId, "candidate", { n });
    expect(await value(registry, "parley_signal_outbox_overflows_total")).toBe(0);
    proxy.refusing = false;
    await nextEvent(alice, "session-replaced", 5000);
    expect(await value(registry, "parley_signal_outbox_overflows_total")).toBe(1);
    expect(await value(registry, "parley_signal_resumes_refused_total")).toBe(1);
    expect(await value(registry, "parley_signal_errors_total", { code: "SESSION_EXPIRED" })).toBe(1);

    const text = await registry.metrics();
    expect(text).not.toMatch(/standup|127\.0\.0\.1/);
    expect(text).not.toContain(alice.sessionId);
  });
});
