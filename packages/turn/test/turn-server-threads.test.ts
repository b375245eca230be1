// relayThreads: the whole server suite again with two relay threads, then what only several threads can get wrong:
// state that must be one for the server although each thread holds its own allocations.
import { randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import {
  AttributeType,
  createTurnServer,
  decodeErrorCode,
  decodeMessage,
  decodeXorAddress,
  encodeXorAddress,
  longTermKey,
  MessageBuilder,
  StunClass,
  type StunMessage,
  StunMethod,
  TurnClient,
  type TurnServer,
  type TurnServerOptions,
} from "../src/index.js";
import { turnServerSuite } from "./turn-server.suite.js";

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
const reusePort = major > 22 || (major === 22 && minor >= 12);

turnServerSuite(2);

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function server(options: TurnServerOptions = {}): Promise<TurnServer> {
  const s = await createTurnServer({
    listeningIps: ["127.0.0.1"],
    listeningPort: 0,
    realm: "north.gov",
    users: ["alice:secret", "bob:hunter2"],
    peerPolicy: { allowLoopback: true },
    relayThreads: 2,
    ...options,
  }).listen();
  cleanup.push(() => s.close());
  return s;
}

async function client(s: TurnServer, username = "alice", password = "secret"): Promise<TurnClient> {
  const c = await TurnClient.connect({ host: "127.0.0.1", port: s.addresses[0]!.port, username, password });
  cleanup.push(() => c.close());
  return c;
}

/** A UDP socket that speaks raw STUN to the server: each one is a new 5-tuple the kernel may give any thread. */
async function rawSocket(port: number) {
  const socket: Socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  cleanup.push(() => socket.close());
  const inbox: Buffer[] = [];
  const waiting: Array<(b: Buffer) => void> = [];
  socket.on("message", (m) => {
    const w = waiting.shift();
    if (w) w(m);
    else inbox.push(m);
  });
  const next = () =>
    new Promise<Buffer>((resolve, reject) => {
      const queued = inbox.shift();
      if (queued) return resolve(queued);
      const timer = setTimeout(() => reject(new Error("no answer in 3 s")), 3000);
      waiting.push((b) => {
        clearTimeout(timer);
        resolve(b);
      });
    });
  return {
    socket,
    next,
    async request(builder: MessageBuilder, key?: Buffer): Promise<StunMessage> {
      socket.send(builder.build(key ? { integrityKey: key } : {}), port, "127.0.0.1");
      return decodeMessage(await next());
    },
  };
}

const key = longTermKey("alice", "north.gov", "secret");
const request = (method: number) => new MessageBuilder(method, StunClass.Request, randomBytes(12));
const signed = (b: MessageBuilder, nonce: Buffer) =>
  b
    .add(AttributeType.Username, Buffer.from("alice"))
    .add(AttributeType.Realm, Buffer.from("north.gov"))
    .add(AttributeType.Nonce, nonce);
const errorCode = (m: StunMessage) => {
  const attr = m.get(AttributeType.ErrorCode);
  return attr ? decodeErrorCode(attr).code : undefined;
};

describe.runIf(!reusePort)("relayThreads where SO_REUSEPORT is missing (Node < 22.12)", () => {
  it("runs one relay thread and says why", async () => {
    const s = await server();
    expect(s.relayThreads).toBe(1);
    expect(s.threadNotice).toMatch(/relay threads: 1 of the 2 asked for \(Node .* has no reusePort \(22\.12\+\)\)/);
  });
});

describe.runIf(reusePort)("two relay threads share one server's state", () => {
  it("spreads clients over both threads, and a nonce issued by one verifies in the other", async () => {
    const s = await server();
    expect(s.relayThreads).toBe(2);
    expect(s.threadNotice).toBeUndefined();
    const port = s.addresses[0]!.port;
    const first = await rawSocket(port);
    const challenge = await first.request(
      request(StunMethod.Allocate).add(AttributeType.RequestedTransport, Buffer.from([17, 0, 0, 0])),
    );
    expect(errorCode(challenge)).toBe(401);
    const nonce = challenge.get(AttributeType.Nonce)!;
    // 16 new 5-tuples: all on one thread once in 32,768 runs. Each allocates with the first socket's nonce.
    for (let i = 0; i < 16; i++) {
      const socket = await rawSocket(port);
      const answer = await socket.request(
        signed(request(StunMethod.Allocate).add(AttributeType.RequestedTransport, Buffer.from([17, 0, 0, 0])), nonce),
        key,
      );
      expect(answer.cls, `answer ${i}: ${errorCode(answer)}`).toBe(StunClass.SuccessResponse);
    }
    expect(s.allocationCount).toBe(16);
    await s.refreshCounters();
    const perThread = s.threadCounters.map((c) => c.allocations);
    expect(perThread).toHaveLength(2);
    expect(perThread.every((n) => n > 0)).toBe(true);
    expect(s.counters.allocations).toBe(16);
  });

  it("holds the per-user and total quotas for the whole server, whichever thread each Allocate reaches", async () => {
    const s = await server({ userQuota: 3, totalQuota: 5 });
    const created: string[] = [];
    s.on("allocation-created", (a) => created.push(a.username));
    const alice = await Promise.all(Array.from({ length: 10 }, () => client(s)));
    const results = await Promise.allSettled(alice.map((c) => c.allocate()));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(3);
    const bob = await Promise.all(Array.from({ length: 10 }, () => client(s, "bob", "hunter2")));
    const bobResults = await Promise.allSettled(bob.map((c) => c.allocate()));
    expect(bobResults.filter((r) => r.status === "fulfilled")).toHaveLength(2);
    expect(s.allocationCount).toBe(5);
    await expect.poll(() => created.length).toBe(5);
    // Slots come back when allocations go, on whichever thread they lived.
    await Promise.all(alice.map((c, i) => (results[i]!.status === "fulfilled" ? c.refresh(0) : undefined)));
    await expect.poll(() => s.allocationCount).toBe(2);
    const more = await Promise.allSettled(bob.map((c, i) => (bobResults[i]!.status === "rejected" ? c.allocate() : 0)));
    expect(more.filter((r, i) => bobResults[i]!.status === "rejected" && r.status === "fulfilled")).toHaveLength(1);
  });

  it("hands a reserved port (EVEN-PORT R) to the token's Allocate on any thread", async () => {
    const s = await server();
    for (let i = 0; i < 8; i++) {
      const rtp = await (await client(s)).allocate({ evenPort: "reserve" });
      const rtcp = await (await client(s)).allocate({ reservationToken: rtp.reservationToken! });
      expect(rtcp.relayed.port).toBe(rtp.relayed.port + 1);
    }
  });

  it("moves an allocation (RFC 8016) to new 5-tuples on any thread: same relayed address, permissions kept", async () => {
    const s = await server({ mobility: true });
    const moved: unknown[] = [];
    s.on("allocation-moved", (m) => moved.push(m));
    const port = s.addresses[0]!.port;
    const peer = createSocket("udp4");
    await new Promise<void>((resolve) => peer.bind(0, "127.0.0.1", resolve));
    cleanup.push(() => peer.close());
    const fromRelay: Array<{ port: number; text: string }> = [];
    peer.on("message", (m, from) => fromRelay.push({ port: from.port, text: m.toString() }));

    const first = await rawSocket(port);
    const nonce = (
      await first.request(
        request(StunMethod.Allocate).add(AttributeType.RequestedTransport, Buffer.from([17, 0, 0, 0])),
      )
    ).get(AttributeType.Nonce)!;
    const allocated = await first.request(
      signed(
        request(StunMethod.Allocate)
          .add(AttributeType.RequestedTransport, Buffer.from([17, 0, 0, 0]))
          .add(AttributeType.MobilityTicket, Buffer.alloc(0)),
        nonce,
      ),
      key,
    );
    expect(allocated.cls).toBe(StunClass.SuccessResponse);
    const relayed = decodeXorAddress(allocated.get(AttributeType.XorRelayedAddress)!, allocated.transactionId);
    const peerAddress = { address: "127.0.0.1", port: (peer.address() as { port: number }).port };
    const permitted = await first.request(
      signed(request(StunMethod.CreatePermission), nonce).add(
        AttributeType.XorPeerAddress,
        encodeXorAddress(peerAddress, Buffer.alloc(12)),
      ),
      key,
    );
    expect(permitted.cls).toBe(StunClass.SuccessResponse); // IPv4 XOR-PEER-ADDRESS uses only the magic cookie
    let ticket = allocated.get(AttributeType.MobilityTicket)!;
    // Eight moves, each from a new 5-tuple: all eight on the first thread once in 256 runs.
    for (let i = 0; i < 8; i++) {
      const socket = await rawSocket(port);
      const refreshed = await socket.request(
        signed(request(StunMethod.Refresh).add(AttributeType.MobilityTicket, ticket), nonce),
        key,
      );
      expect(refreshed.cls, `move ${i}: ${errorCode(refreshed)}`).toBe(StunClass.SuccessResponse);
      ticket = refreshed.get(AttributeType.MobilityTicket)!;
      const tid = Buffer.alloc(12, i + 1);
      const send = new MessageBuilder(StunMethod.Send, StunClass.Indication, tid)
        .add(AttributeType.XorPeerAddress, encodeXorAddress(peerAddress, tid))
        .add(AttributeType.Data, Buffer.from(`after move ${i}`))
        .build();
      socket.socket.send(send, port, "127.0.0.1");
      await expect.poll(() => fromRelay.at(-1)?.text).toBe(`after move ${i}`);
      expect(fromRelay.at(-1)?.port).toBe(relayed.port);
    }
    expect(moved).toHaveLength(8);
    expect(s.allocationCount).toBe(1);
    // The old 5-tuple no longer holds it.
    const stale = await first.request(signed(request(StunMethod.Refresh), nonce), key);
    expect(errorCode(stale)).toBe(437);
  });

  it("runs the authenticate, permit and quota hooks in the thread that created the server", async () => {
    const asked: string[] = [];
    const s = await server({
      authenticate: async (username, realm, algorithm) => {
        asked.push(username);
        return username === "carol" ? [longTermKey("carol", realm, "pw", algorithm)] : [];
      },
      permit: (peer) => peer.address !== "127.0.0.9",
      quota: (username, current) => username === "carol" && current < 2,
    });
    const carol = await Promise.all(Array.from({ length: 3 }, () => client(s, "carol", "pw")));
    const results = await Promise.allSettled(carol.map((c) => c.allocate()));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(2);
    expect(asked.length).toBeGreaterThanOrEqual(3);
    const holder = carol[results.findIndex((r) => r.status === "fulfilled")]!;
    await expect(holder.createPermission("127.0.0.8")).resolves.toBeUndefined();
    await expect(holder.createPermission("127.0.0.9")).rejects.toMatchObject({ stunCode: 403 });
  });

  it("closes every thread: the listening ports are free again and no allocation is left", async () => {
    const s = await createTurnServer({ listeningPort: 0, users: ["a:b"], relayThreads: 2 }).listen();
    const port = s.addresses[0]!.port;
    const c = await TurnClient.connect({ host: "127.0.0.1", port, username: "a", password: "b" });
    await c.allocate();
    const deleted = new Promise((resolve) => s.once("allocation-deleted", resolve));
    await s.close();
    expect(await deleted).toMatchObject({ reason: "closed" });
    c.close();
    // Bound without SO_REUSEPORT: fails with EADDRINUSE if any thread still held the port.
    const probe = createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      probe.once("error", reject);
      probe.bind(port, "127.0.0.1", resolve);
    });
    probe.close();
  });
});
