import { afterEach, describe, expect, it } from "vitest";
import { createSignalServer, SignalClient, type SignalServer, type SignalServerOptions } from "../src/index.js";
import { nextEvent, until } from "./helpers/events.js";
import { startTcpProxy, type TcpProxy } from "./helpers/tcp-proxy.js";

let server: SignalServer;
let proxy: TcpProxy;
const clients: SignalClient[] = [];

/** A server, and a TCP proxy in front of it through which the client under test connects (so it can be cut). */
async function setup(options: SignalServerOptions = {}) {
  server = createSignalServer(options);
  const port = await server.listen(0);
  proxy = await startTcpProxy(port);
  const fast = { reconnect: { initialDelayMs: 20, maxDelayMs: 100 } };
  const alice = await SignalClient.connect(`ws://127.0.0.1:${proxy.port}`, fast);
  const bob = await SignalClient.connect(`ws://127.0.0.1:${port}`, fast);
  clients.push(alice, bob);
  await alice.join("r");
  await bob.join("r");
  const flaps: string[] = [];
  bob.on("member-left", (_r, id) => flaps.push(`left ${id}`));
  bob.on("member-joined", (_r, m) => flaps.push(`joined ${m.id}`));
  return { alice, bob, flaps };
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await proxy.close();
  await server.close();
});

const payloadNumbers = (client: SignalClient, into: number[]) =>
  client.on("signal", (m) => into.push((m.payload as { n: number }).n));

describe("session resume", () => {
  it("after a cut, delivers every message sent in the gap, in order, exactly once, with no leave/join flap", async () => {
    const { alice, bob, flaps } = await setup();
    const got: number[] = [];
    payloadNumbers(alice, got);
    for (let n = 0; n < 5; n++) await bob.signal("r", alice.sessionId, "candidate", { n });
    await until(() => got.length === 5, 2000, "first 5");
    const id = alice.sessionId;
    proxy.refusing = true;
    proxy.cut();
    await nextEvent(alice, "reconnecting");
    for (let n = 5; n < 25; n++) await bob.signal("r", alice.sessionId, "candidate", { n });
    proxy.refusing = false;
    await nextEvent(alice, "resumed", 5000);
    await until(() => got.length >= 25, 3000, "25 signals");
    await alice.ping();
    expect(got).toEqual(Array.from({ length: 25 }, (_, n) => n));
    expect(alice.sessionId).toBe(id);
    expect(flaps).toEqual([]);
  });

  it("loses nothing and repeats nothing when the cut lands mid-exchange, in both directions", async () => {
    const { alice, bob } = await setup();
    const atBob: number[] = [];
    const atAlice: number[] = [];
    payloadNumbers(bob, atBob);
    payloadNumbers(alice, atAlice);
    // Both keep sending while the link is cut twice; requests whose answers were lost are re-sent after resume and
    // answered from the server's cache, so none is delivered twice.
    const fromAlice = Promise.all(
      Array.from({ length: 60 }, (_, n) => alice.signal("r", bob.sessionId, "candidate", { n })),
    );
    const fromBob = (async () => {
      for (let n = 0; n < 60; n++) {
        await bob.signal("r", alice.sessionId, "candidate", { n });
        if (n === 20 || n === 40) proxy.cut();
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await Promise.all([fromAlice, fromBob]);
    await until(() => atBob.length >= 60 && atAlice.length >= 60, 5000, "60 each way");
    await Promise.all([alice.ping(), bob.ping()]);
    expect(atBob).toEqual(Array.from({ length: 60 }, (_, n) => n));
    expect(atAlice).toEqual(Array.from({ length: 60 }, (_, n) => n));
  });

  it("past the resume window: SESSION_EXPIRED, a new session that rejoins its rooms, and the room sees the change", async () => {
    const { alice, flaps } = await setup({ resumeWindowMs: 150 });
    const oldId = alice.sessionId;
    proxy.refusing = true;
    proxy.cut();
    await new Promise((r) => setTimeout(r, 400));
    proxy.refusing = false;
    const [previous] = await nextEvent<[string]>(alice, "session-replaced", 5000);
    expect(previous).toBe(oldId);
    expect(alice.sessionId).not.toBe(oldId);
    expect(alice.rooms.get("r")?.self).toBe(alice.sessionId);
    await until(() => flaps.length === 2, 2000, "leave then join");
    expect(flaps).toEqual([`left ${oldId}`, `joined ${alice.sessionId}`]);
  });

  it("when the outbox bound is exceeded during the gap: SESSION_EXPIRED rather than a silent loss", async () => {
    const { alice, bob } = await setup({ outboxMessages: 4 });
    const oldId = alice.sessionId;
    proxy.refusing = true;
    proxy.cut();
    await nextEvent(alice, "reconnecting");
    for (let n = 0; n < 10; n++) await bob.signal("r", oldId, "candidate", { n });
    proxy.refusing = false;
    const [previous] = await nextEvent<[string]>(alice, "session-replaced", 5000);
    expect(previous).toBe(oldId);
  });

  it("resumes a long session: 600 messages received in its life, then 200 more while cut off (outbox 256)", async () => {
    const { alice, bob } = await setup({ messagesPerSecond: 2000 });
    const got: number[] = [];
    payloadNumbers(alice, got);
    for (let n = 0; n < 600; n++) await bob.signal("r", alice.sessionId, "candidate", { n });
    await until(() => got.length === 600, 5000, "600 signals");
    const id = alice.sessionId;
    proxy.refusing = true;
    proxy.cut();
    await nextEvent(alice, "reconnecting");
    for (let n = 600; n < 800; n++) await bob.signal("r", id, "candidate", { n });
    proxy.refusing = false;
    await nextEvent(alice, "resumed", 5000);
    await until(() => got.length >= 800, 3000, "800 signals");
    expect(got).toEqual(Array.from({ length: 800 }, (_, n) => n));
    expect(alice.sessionId).toBe(id);
  });

  it("refuses a resume with a wrong token (no session takeover)", async () => {
    const { alice } = await setup();
    const { WebSocket } = await import("ws");
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}`);
    await new Promise((r) => ws.once("open", r));
    const reply = new Promise<Record<string, unknown>>((r) => ws.once("message", (d) => r(JSON.parse(String(d)))));
    ws.send(
      JSON.stringify({
        type: "hello",
        id: "1",
        version: 1,
        resume: { sessionId: alice.sessionId, resumeToken: "guess", lastSeq: 0 },
      }),
    );
    expect(await reply).toMatchObject({ type: "error", code: "SESSION_EXPIRED" });
    ws.close();
    expect(await alice.ping()).toBeGreaterThanOrEqual(0);
  });
});
