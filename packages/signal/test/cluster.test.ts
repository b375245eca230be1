import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { hasTool } from "../../../test/helpers/require-tool.js";
import { createSignalServer, SignalClient, type SignalServer, type SignalServerOptions } from "../src/index.js";
import { nextEvent, until } from "./helpers/events.js";
import { rawSocket } from "./helpers/raw-socket.js";
import { type RedisServer, startRedis } from "./helpers/redis-server.js";
import { startTcpProxy, type TcpProxy } from "./helpers/tcp-proxy.js";

// Several signalling nodes in this process, sharing one real redis-server (started here; no mock). The process-level
// proofs (SIGKILL, rolling restarts, the chaos run) are in test/interop/signal-cluster.test.ts.

let redis: RedisServer;
const servers: SignalServer[] = [];
const proxies: TcpProxy[] = [];
const clients: SignalClient[] = [];
let prefix = 0;
const fast = { reconnect: { initialDelayMs: 20, maxDelayMs: 200 } };

const run = hasTool("redis");

beforeAll(async () => {
  if (run) redis = await startRedis();
}, 20_000);
afterAll(async () => {
  await redis?.stop();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const p of proxies.splice(0)) await p.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** `n` nodes on the same Redis keyspace (a fresh prefix per test, so tests do not see each other's rooms). */
async function nodes(n: number, options: SignalServerOptions = {}) {
  const keyspace = `t${process.pid}-${prefix++}:`;
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const server = createSignalServer({ redis: { url: redis.url, prefix: keyspace }, drainMs: 100, ...options });
    servers.push(server);
    expect(await server.ready(5000)).toBe(true);
    ports.push(await server.listen(0));
  }
  return { servers: servers.slice(-n), urls: ports.map((p) => `ws://127.0.0.1:${p}`), ports };
}

async function connect(url: string | string[]): Promise<SignalClient> {
  const client = await SignalClient.connect(url, fast);
  clients.push(client);
  return client;
}

const numbers = (client: SignalClient, into: number[]) =>
  client.on("signal", (m) => into.push((m.payload as { n: number }).n));

describe.runIf(run)("signalling across nodes on Redis", () => {
  it("members on different nodes see each other, and signals and broadcasts cross once each, in order", async () => {
    const { urls } = await nodes(2, { messagesPerSecond: 10_000 });
    const alice = await connect(urls[0]!);
    const bob = await connect(urls[1]!);
    await alice.join("r", { name: "alice" });
    const joinedSeen = nextEvent<[string, { id: string }]>(alice, "member-joined");
    const room = await bob.join("r", { name: "bob" });
    expect([...room.members.values()]).toEqual([{ id: alice.sessionId, metadata: { name: "alice" } }]);
    expect((await joinedSeen)[1]).toEqual({ id: bob.sessionId, metadata: { name: "bob" } });

    const atBob: number[] = [];
    const atAlice: number[] = [];
    numbers(bob, atBob);
    numbers(alice, atAlice);
    const sends: Promise<void>[] = [];
    for (let n = 0; n < 200; n++) {
      sends.push(alice.signal("r", bob.sessionId, "candidate", { n }));
      sends.push(bob.signal("r", alice.sessionId, "candidate", { n }));
    }
    await Promise.all(sends);
    await until(() => atBob.length >= 200 && atAlice.length >= 200, 5000, "200 each way");
    await alice.ping();
    await bob.ping();
    const expected = Array.from({ length: 200 }, (_, n) => n);
    expect(atBob).toEqual(expected);
    expect(atAlice).toEqual(expected);

    const broadcasts: unknown[] = [];
    bob.on("broadcast", (m) => broadcasts.push(m.payload));
    await alice.broadcast("r", { hello: "all" });
    await until(() => broadcasts.length === 1, 2000, "broadcast");
    expect(broadcasts).toEqual([{ hello: "all" }]);

    const left = nextEvent<[string, string]>(bob, "member-left");
    await alice.leave("r");
    expect((await left)[1]).toBe(alice.sessionId);
  });

  it("refuses what one node refuses, with the same codes: unknown member, not in room, room full, too many rooms", async () => {
    const { urls } = await nodes(2, { roomCapacity: 2, roomsPerConnection: 1 });
    const a = await connect(urls[0]!);
    const b = await connect(urls[1]!);
    const c = await connect(urls[1]!);
    await a.join("r");
    await b.join("r");
    await expect(c.join("r")).rejects.toMatchObject({ code: "ROOM_FULL" });
    await expect(a.join("other")).rejects.toMatchObject({ code: "TOO_MANY_ROOMS" });
    await expect(a.signal("r", c.sessionId, "offer", {})).rejects.toMatchObject({ code: "UNKNOWN_MEMBER" });
    await expect(c.signal("r", a.sessionId, "offer", {})).rejects.toMatchObject({ code: "NOT_IN_ROOM" });
    await expect(c.leave("r")).rejects.toMatchObject({ code: "NOT_IN_ROOM" });
  });

  it("a client cut from its node resumes on another: same member id, every message of the gap once, no flap", async () => {
    const { ports, urls } = await nodes(2, { messagesPerSecond: 10_000 });
    const proxy = await startTcpProxy(ports[0]!);
    proxies.push(proxy);
    // The client's list: its node (through a cuttable link) first, the other node next.
    const alice = await connect([`ws://127.0.0.1:${proxy.port}`, urls[1]!]);
    const bob = await connect(urls[1]!);
    await alice.join("r");
    await bob.join("r");
    const flaps: string[] = [];
    bob.on("member-left", (_r, id) => flaps.push(`left ${id}`));
    bob.on("member-joined", (_r, m) => flaps.push(`joined ${m.id}`));
    const got: number[] = [];
    numbers(alice, got);
    for (let n = 0; n < 300; n++) await bob.signal("r", alice.sessionId, "candidate", { n });
    await until(() => got.length === 300, 5000, "first 300");
    const id = alice.sessionId;
    // The client fails over to the other node at once: the gap's signals race its resume there.
    const resumed = nextEvent(alice, "resumed", 10_000);
    proxy.refusing = true;
    proxy.cut();
    for (let n = 300; n < 600; n++) await bob.signal("r", id, "candidate", { n });
    await resumed;
    expect(alice.url).toBe(urls[1]);
    await until(() => got.length >= 600, 5000, "600 signals");
    await alice.ping();
    expect(got).toEqual(Array.from({ length: 600 }, (_, n) => n));
    expect(alice.sessionId).toBe(id);
    expect(flaps).toEqual([]);
  });

  it("a raw client written from PROTOCOL.md resumes on another node with its lastSeq; the old resume token is dead", async () => {
    const { urls } = await nodes(2);
    const bob = await connect(urls[1]!);
    const a = await rawSocket(urls[0]!);
    a.send({ type: "hello", version: 1, id: "h" });
    const welcome = (await a.next()) as { sessionId: string; resumeToken: string };
    a.send({ type: "join", room: "r", id: "j" });
    expect(await a.next()).toMatchObject({ type: "joined", re: "j" });
    await bob.join("r");
    let lastSeq = 0;
    const take = async () => {
      const msg = (await a.next()) as { seq: number; payload?: { n: number } };
      lastSeq = msg.seq;
      return msg;
    };
    expect(await take()).toMatchObject({ type: "member-joined", seq: 1 });
    for (let n = 0; n < 3; n++) await bob.signal("r", welcome.sessionId, "candidate", { n });
    for (let n = 0; n < 3; n++) expect((await take()).payload).toEqual({ n });
    a.ws.terminate();
    for (let n = 3; n < 5; n++) await bob.signal("r", welcome.sessionId, "candidate", { n });
    const b = await rawSocket(urls[1]!);
    const resume = { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken, lastSeq };
    b.send({ type: "hello", version: 1, id: "h2", resume });
    expect(await b.next()).toMatchObject({
      type: "welcome",
      resumed: true,
      sessionId: welcome.sessionId,
      rooms: ["r"],
    });
    expect(await b.next()).toMatchObject({ type: "signal", seq: 5, payload: { n: 3 } });
    expect(await b.next()).toMatchObject({ type: "signal", seq: 6, payload: { n: 4 } });
    // Once the new connection has been used, the token the resume was made with is dead (a thief's copy).
    b.send({ type: "join", room: "r2", id: "j2" });
    expect(await b.next()).toMatchObject({ type: "joined", re: "j2" });
    const thief = await rawSocket(urls[0]!);
    thief.send({ type: "hello", version: 1, id: "h3", resume });
    expect(await thief.next()).toMatchObject({ type: "error", re: "h3", code: "SESSION_EXPIRED" });
    for (const s of [b, thief]) s.ws.close();
  });

  it("a resume after the outbox bound pushed out unseen messages is refused, naming them, on any node", async () => {
    const { urls } = await nodes(2, { outboxMessages: 5 });
    const bob = await connect(urls[1]!);
    const a = await rawSocket(urls[0]!);
    a.send({ type: "hello", version: 1, id: "h" });
    const welcome = (await a.next()) as { sessionId: string; resumeToken: string };
    a.send({ type: "join", room: "r", id: "j" });
    expect(await a.next()).toMatchObject({ type: "joined" });
    await bob.join("r");
    expect(await a.next()).toMatchObject({ type: "member-joined", seq: 1 });
    a.ws.terminate();
    for (let n = 0; n < 10; n++) await bob.signal("r", welcome.sessionId, "candidate", { n });
    const left = nextEvent<[string, string]>(bob, "member-left");
    const b = await rawSocket(urls[1]!);
    b.send({
      type: "hello",
      version: 1,
      id: "h2",
      resume: { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken, lastSeq: 1 },
    });
    const refusal = await b.next();
    expect(refusal).toMatchObject({ type: "error", re: "h2", code: "SESSION_EXPIRED" });
    expect(refusal.message).toMatch(/messages 2 to 6 were dropped \(the outbox keeps 5 messages\)/);
    expect((await left)[1]).toBe(welcome.sessionId);
    b.ws.close();
  });

  it("a node that shuts down (a deploy) hands its clients to another node without replacing a session", async () => {
    const {
      servers: [first],
      urls,
    } = await nodes(2);
    const alice = await connect([urls[0]!, urls[1]!]);
    const bob = await connect(urls[1]!);
    await alice.join("r");
    await bob.join("r");
    const replaced: string[] = [];
    alice.on("session-replaced", (old) => replaced.push(old));
    const got: number[] = [];
    numbers(alice, got);
    const resumed = nextEvent(alice, "resumed", 10_000);
    const closing = first!.close();
    let n = 0;
    while (n < 100) await bob.signal("r", alice.sessionId, "candidate", { n: n++ });
    await closing;
    await resumed;
    while (n < 150) await bob.signal("r", alice.sessionId, "candidate", { n: n++ });
    await until(() => got.length >= 150, 5000, "150 signals");
    expect(got).toEqual(Array.from({ length: 150 }, (_, i) => i));
    expect(replaced).toEqual([]);
    expect(alice.url).toBe(urls[1]);
  });

  it("everyone sees joins and leaves of one room in the same order, whichever node they are on", async () => {
    const { urls } = await nodes(3);
    const watchers = await Promise.all(urls.map((u) => connect(u)));
    const seen = watchers.map(() => [] as string[]);
    watchers.forEach((w, i) => {
      w.on("member-joined", (_r, m) => seen[i]!.push(`+${m.id}`));
      w.on("member-left", (_r, id) => seen[i]!.push(`-${id}`));
    });
    await Promise.all(watchers.map((w) => w.join("r")));
    const joiners = await Promise.all(Array.from({ length: 12 }, (_, i) => connect(urls[i % 3]!)));
    await Promise.all(joiners.map((j) => j.join("r")));
    await Promise.all(joiners.slice(0, 6).map((j) => j.leave("r")));
    const others = new Set(joiners.map((j) => j.sessionId));
    await until(() => seen.every((s) => s.filter((e) => others.has(e.slice(1))).length === 18), 5000, "18 events");
    const views = seen.map((s) => s.filter((e) => others.has(e.slice(1))));
    expect(views[1]).toEqual(views[0]);
    expect(views[2]).toEqual(views[0]);
  });

  it("an operator on any node lists rooms, kicks a member held by another node (4003, member-left), closes a room", async () => {
    const {
      servers: [a, b],
      urls,
    } = await nodes(2);
    const alice = await connect(urls[0]!);
    const bob = await connect(urls[1]!);
    await alice.join("r", { role: "host" });
    await bob.join("r");
    expect(await b!.rooms()).toEqual([{ room: "r", members: 2 }]);
    expect(await a!.roomMembers("r")).toContainEqual({ id: alice.sessionId, metadata: { role: "host" } });
    const left = nextEvent<[string, string]>(alice, "member-left");
    const closed = nextEvent<[unknown]>(bob, "close");
    expect(await a!.kick(bob.sessionId)).toBe(true);
    expect((await left)[1]).toBe(bob.sessionId);
    await closed;
    expect(await a!.kick(bob.sessionId)).toBe(false);
    const removed = nextEvent<[string, string]>(alice, "removed");
    expect(await b!.closeRoom("r")).toBe(1);
    expect((await removed)[0]).toBe("r");
    expect(await a!.rooms()).toEqual([]);
  });

  it("while Redis is down: connections stay open and requests are answered UNAVAILABLE; after, nothing is lost or doubled", async () => {
    const { urls } = await nodes(2);
    const alice = await connect(urls[0]!);
    const bob = await connect(urls[1]!);
    await alice.join("r");
    await bob.join("r");
    const raw = await rawSocket(urls[0]!);
    raw.send({ type: "hello", version: 1, id: "h" });
    expect(await raw.next()).toMatchObject({ type: "welcome" });
    const got: number[] = [];
    numbers(alice, got);
    await redis.kill();
    // A raw client sees the code; the connection stays open (it answers pings, which need no store).
    raw.send({ type: "join", room: "x", id: "j1" });
    expect(await raw.next()).toMatchObject({ type: "error", re: "j1", code: "UNAVAILABLE" });
    raw.send({ type: "ping", id: "p1" });
    expect(await raw.next()).toMatchObject({ type: "pong", re: "p1" });
    const hello = await rawSocket(urls[1]!);
    hello.send({ type: "hello", version: 1, id: "h2" });
    expect(await hello.next()).toMatchObject({ type: "error", re: "h2", code: "UNAVAILABLE" });
    // Our client retries by itself, in order, with the same ids.
    const sends = Array.from({ length: 20 }, (_, n) => bob.signal("r", alice.sessionId, "candidate", { n }));
    await new Promise((r) => setTimeout(r, 500));
    await redis.start();
    await Promise.all(sends);
    await until(() => got.length >= 20, 10_000, "20 signals");
    await alice.ping();
    expect(got).toEqual(Array.from({ length: 20 }, (_, n) => n));
    raw.send({ type: "join", room: "x", id: "j1" });
    expect(await raw.next()).toMatchObject({ type: "joined", re: "j1" });
    raw.ws.close();
    hello.ws.close();
  }, 30_000);

  it("validates the redis option (INVALID_OPTION) and refuses it together with a custom store", () => {
    for (const redis of ["localhost:6379", "http://x", "", 5, { url: "redis://x", prefix: "bad prefix" }]) {
      expect(() => createSignalServer({ redis: redis as never })).toThrow(
        expect.objectContaining({ code: "INVALID_OPTION" }),
      );
    }
  });
});
