import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { afterEach, expect, it, describe as vitestDescribe } from "vitest";
import {
  AttributeType,
  createTurnServer,
  decodeErrorCode,
  decodeMessage,
  longTermKey,
  MessageBuilder,
  restCredentials,
  StunClass,
  StunMethod,
  TurnClient,
  type TurnError,
  type TurnServer,
  type TurnServerOptions,
} from "../src/index.js";

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/**
 * The server's behaviour as its README and the RFCs promise it, with `relayThreads` relay threads: everything here
 * must hold the same with one thread and with several (turn-server.test.ts and turn-server-threads.test.ts).
 */
export function turnServerSuite(relayThreads: number): void {
  const describe = (name: string, body: () => void) => vitestDescribe(`${name} (relayThreads ${relayThreads})`, body);

  async function server(options: TurnServerOptions = {}): Promise<TurnServer> {
    const s = await createTurnServer({
      relayThreads,
      listeningIps: ["127.0.0.1"],
      listeningPort: 0,
      realm: "north.gov",
      users: ["alice:secret", "bob:hunter2"],
      peerPolicy: { allowLoopback: true },
      ...options,
    }).listen();
    cleanup.push(() => s.close());
    return s;
  }

  async function client(s: TurnServer, transport: "udp" | "tcp" = "udp", username = "alice", password = "secret") {
    const port = s.addresses.find((a) => a.transport === transport)!.port;
    const c = await TurnClient.connect({ host: "127.0.0.1", port, transport, username, password, timeoutMs: 3000 });
    cleanup.push(() => c.close());
    return c;
  }

  /** The server's counters now (relay threads report theirs on request). */
  const counts = async (s: TurnServer) => {
    await s.refreshCounters();
    return s.counters;
  };

  const nextData = (c: TurnClient) =>
    new Promise<{ data: Buffer; peer: { address: string; port: number } }>((resolve) =>
      c.once("data", (data, peer) => resolve({ data, peer })),
    );

  const failure = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (err: TurnError) => err,
    );

  describe("TURN relaying between two allocations", () => {
    for (const transport of ["udp", "tcp"] as const) {
      it(`carries data both ways with Send/Data indications and with channels (${transport})`, async () => {
        const s = await server();
        const a = await client(s, transport);
        const b = await client(s, transport, "bob", "hunter2");
        const ra = (await a.allocate()).relayed;
        const rb = (await b.allocate()).relayed;
        await a.createPermission(rb.address);
        await b.createPermission(ra.address);

        const atB = nextData(b);
        a.send(rb, Buffer.from("via send indication"));
        expect((await atB).data.toString()).toBe("via send indication");
        expect((await atB).peer).toEqual({ address: ra.address, port: ra.port });

        await a.bindChannel(rb);
        await b.bindChannel(ra);
        const atA = nextData(a);
        b.send(ra, Buffer.from("via channel, 7 bytes padded"));
        expect((await atA).data.toString()).toBe("via channel, 7 bytes padded");
        expect((await counts(s)).relayedToPeer).toBeGreaterThanOrEqual(2);
      });
    }

    it("drops data to a peer without a permission", async () => {
      const s = await server();
      const a = await client(s);
      const b = await client(s, "udp", "bob", "hunter2");
      await a.allocate();
      const rb = (await b.allocate()).relayed;
      a.send(rb, Buffer.from("nope"));
      await new Promise((r) => setTimeout(r, 100));
      expect((await counts(s)).relayDropped).toBeGreaterThan(0);
    });
  });

  describe("allocation lifecycle", () => {
    it("grants the default lifetime, caps it at maxAllocateLifetime, and deletes on Refresh 0", async () => {
      const s = await server({ maxAllocateLifetime: 1200 });
      const c = await client(s);
      expect((await c.allocate({ lifetime: 99_999 })).lifetime).toBe(1200);
      expect(await c.refresh(30)).toBe(600);
      const deleted = new Promise((resolve) => s.once("allocation-deleted", resolve));
      expect(await c.refresh(0)).toBe(0);
      expect(await deleted).toMatchObject({ reason: "refresh-zero", username: "alice" });
      expect(s.allocationCount).toBe(0);
    });

    it("answers a second Allocate on the same 5-tuple with 437, and a Refresh without one with 437", async () => {
      const s = await server();
      const c = await client(s);
      expect((await failure(c.refresh(600)))?.stunCode).toBe(437);
      await c.allocate();
      expect((await failure(c.allocate()))?.stunCode).toBe(437);
    });

    it("deletes a TCP client's allocation when its connection closes", async () => {
      const s = await server();
      const c = await client(s, "tcp");
      await c.allocate();
      const deleted = new Promise((resolve) => s.once("allocation-deleted", resolve));
      c.close();
      expect(await deleted).toMatchObject({ reason: "closed" });
    });

    it("enforces the per-user quota with 486, and frees the slot on delete", async () => {
      const s = await server({ userQuota: 1 });
      const first = await client(s);
      const second = await client(s);
      await first.allocate();
      expect((await failure(second.allocate()))?.stunCode).toBe(486);
      await first.refresh(0);
      await expect(second.allocate()).resolves.toBeDefined();
    });

    it("enforces the total quota with 486", async () => {
      const s = await server({ totalQuota: 1 });
      await (await client(s)).allocate();
      expect((await failure((await client(s, "udp", "bob", "hunter2")).allocate()))?.stunCode).toBe(486);
    });
  });

  describe("authentication", () => {
    it("rejects a wrong password with 401 after the challenge", async () => {
      const s = await server();
      const failures: unknown[] = [];
      s.on("auth-failure", (f) => failures.push(f));
      const c = await client(s, "udp", "alice", "wrong");
      const err = await failure(c.allocate());
      expect(err).toMatchObject({ code: "AUTH_FAILED", stunCode: 401 });
      // With relay threads the event reaches this thread a moment after the client's answer.
      await expect.poll(() => failures.at(-1)).toMatchObject({ username: "alice", reason: "wrong credentials" });
    });

    it("accepts coturn's 0x key form for a user", async () => {
      // turnadmin -k -u ninefingers -r north.gov -p youhavetoberealistic
      const s = await server({ users: ["ninefingers:0xbc807ee29df3c9ffa736523fb2c4e8ee"] });
      const c = await client(s, "udp", "ninefingers", "youhavetoberealistic");
      await expect(c.allocate()).resolves.toMatchObject({ lifetime: 600 });
    });

    it("accepts REST credentials from any configured secret and refuses expired ones", async () => {
      const s = await server({ users: [], authSecrets: ["old-secret", "new-secret"] });
      for (const secret of ["old-secret", "new-secret"]) {
        const { username, password } = restCredentials(secret, { user: "carol", ttlSeconds: 60 });
        await expect((await client(s, "udp", username, password)).allocate()).resolves.toBeDefined();
      }
      const expired = restCredentials("new-secret", { user: "carol", ttlSeconds: -10 });
      expect((await failure((await client(s, "udp", expired.username, expired.password)).allocate()))?.stunCode).toBe(
        401,
      );
    });

    it("answers a stale nonce with 438 and the client recovers with the new one", async () => {
      const s = await server({ nonceLifetime: 1 });
      const rejected: number[] = [];
      s.on("rejected", (r) => rejected.push(r.code));
      const c = await client(s);
      await c.allocate();
      await new Promise((r) => setTimeout(r, 2100));
      await expect(c.refresh(600)).resolves.toBe(600);
      await expect.poll(() => rejected).toContain(438); // relay threads report events a moment later
    });
  });

  describe("peer policy", () => {
    const cases: Array<[string, string]> = [
      ["loopback", "127.0.0.1"],
      ["the cloud metadata address", "169.254.169.254"],
      ["this-network 0.0.0.0/8", "0.0.0.5"],
      ["multicast", "239.1.2.3"],
    ];
    for (const [name, address] of cases) {
      it(`refuses a permission for ${name} (${address}) with 403 by default`, async () => {
        const s = await server({ peerPolicy: {} });
        const c = await client(s);
        await c.allocate();
        expect((await failure(c.createPermission(address)))?.stunCode).toBe(403);
      });
    }

    it("lets --allowed-peer-ip override a denied range, and the permit hook veto a peer", async () => {
      const s = await server({
        peerPolicy: { denied: ["10.0.0.0/8"], allowed: ["10.1.2.3"] },
        permit: (peer) => peer.address !== "93.184.216.7",
      });
      const c = await client(s);
      await c.allocate();
      await expect(c.createPermission("10.1.2.3")).resolves.toBeUndefined();
      expect((await failure(c.createPermission("10.9.9.9")))?.stunCode).toBe(403);
      expect((await failure(c.createPermission("93.184.216.7")))?.stunCode).toBe(403); // the hook (a public address)
      await expect(c.createPermission("93.184.216.8")).resolves.toBeUndefined();
    });

    it("never relays into its own listeners, even with loopback peers allowed", async () => {
      const s = await server(); // allowLoopback: true, listening on 127.0.0.1
      const own = s.addresses[0]!;
      const c = await client(s);
      await c.allocate();
      // The address is a permitted loopback peer; the server's own port on it is not.
      await expect(c.createPermission("127.0.0.1")).resolves.toBeUndefined();
      const bind = await failure(c.bindChannel({ address: "127.0.0.1", port: own.port }));
      expect(bind?.stunCode).toBe(403);
      expect(bind?.message).toMatch(/this TURN server's listener/);
      const dropped = (await counts(s)).relayDropped;
      const relayed = (await counts(s)).relayedToPeer;
      c.send({ address: "127.0.0.1", port: own.port }, Buffer.from("into the server itself"));
      await expect.poll(async () => (await counts(s)).relayDropped).toBe(dropped + 1);
      expect((await counts(s)).relayedToPeer).toBe(relayed);
      // Any other port on the same address is an ordinary loopback peer.
      await expect(c.bindChannel({ address: "127.0.0.1", port: own.port + 1 })).resolves.toBeGreaterThanOrEqual(0x4000);
    });

    it("counts ChannelBind's permission against the 1,024-permission cap, like CreatePermission's", async () => {
      const s = await server();
      const c = await client(s);
      await c.allocate();
      const peers = Array.from({ length: 1024 }, (_, i) => `127.1.${i >> 8}.${i & 255}`);
      for (let i = 0; i < peers.length; i += 16) await c.createPermission(...peers.slice(i, i + 16));
      expect((await failure(c.createPermission("127.2.0.1")))?.stunCode).toBe(508);
      expect((await failure(c.bindChannel({ address: "127.2.0.1", port: 5000 })))?.stunCode).toBe(508);
      // A channel to a peer that already has a permission needs no new one.
      await expect(c.bindChannel({ address: peers[0]!, port: 5000 })).resolves.toBeGreaterThanOrEqual(0x4000);
    });
  });

  describe("malformed and hostile requests", () => {
    async function raw(s: TurnServer, packet: Buffer): Promise<Buffer | undefined> {
      const socket = createSocket("udp4");
      cleanup.push(() => socket.close());
      const port = s.addresses[0]!.port;
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 300);
        socket.once("message", (m) => {
          clearTimeout(timer);
          resolve(m);
        });
        socket.send(packet, port, "127.0.0.1");
      });
    }

    it("answers an unauthenticated Allocate with 401 carrying REALM and a NONCE", async () => {
      const s = await server();
      const req = new MessageBuilder(StunMethod.Allocate, StunClass.Request, randomBytes(12))
        .add(AttributeType.RequestedTransport, Buffer.from([17, 0, 0, 0]))
        .build();
      const res = decodeMessage((await raw(s, req))!);
      expect(decodeErrorCode(res.get(AttributeType.ErrorCode)!).code).toBe(401);
      expect(res.get(AttributeType.Realm)?.toString()).toBe("north.gov");
      expect(res.get(AttributeType.Nonce)?.length).toBeGreaterThan(8);
    });

    it("answers MESSAGE-INTEGRITY without USERNAME/REALM/NONCE with 400", async () => {
      const s = await server();
      const req = new MessageBuilder(StunMethod.Allocate, StunClass.Request, randomBytes(12))
        .add(AttributeType.RequestedTransport, Buffer.from([17, 0, 0, 0]))
        .build({ integrityKey: Buffer.from("x") });
      const res = decodeMessage((await raw(s, req))!);
      expect(decodeErrorCode(res.get(AttributeType.ErrorCode)!).code).toBe(400);
    });

    it("answers a forged nonce with 438", async () => {
      const s = await server();
      const req = new MessageBuilder(StunMethod.Allocate, StunClass.Request, randomBytes(12))
        .add(AttributeType.RequestedTransport, Buffer.from([17, 0, 0, 0]))
        .add(AttributeType.Username, Buffer.from("alice"))
        .add(AttributeType.Realm, Buffer.from("north.gov"))
        .add(AttributeType.Nonce, Buffer.from("ffffffff.forgedforgedforgedforged"))
        .build({ integrityKey: Buffer.from("x") });
      const res = decodeMessage((await raw(s, req))!);
      expect(decodeErrorCode(res.get(AttributeType.ErrorCode)!).code).toBe(438);
    });

    /** A UDP socket on 127.0.0.1 that counts and keeps what the server answers. */
    async function udpProbe() {
      const socket = createSocket("udp4");
      cleanup.push(() => socket.close());
      const answers: Buffer[] = [];
      socket.on("message", (m) => answers.push(m));
      await new Promise<void>((r) => socket.bind(0, "127.0.0.1", () => r()));
      return { socket, answers };
    }
    const allocate = () =>
      new MessageBuilder(StunMethod.Allocate, StunClass.Request, randomBytes(12)).add(
        AttributeType.RequestedTransport,
        Buffer.from([17, 0, 0, 0]),
      );

    it("answers every first request (no MESSAGE-INTEGRITY) from one address, however many, and keeps no state", async () => {
      // 30 TCP clients behind one NAT (coturn's uclient -t -m 30) hung when these 401s spent a per-address budget.
      const s = await server({ authFailureRate: 20 });
      const { socket, answers } = await udpProbe();
      for (let i = 0; i < 200; i++) socket.send(allocate().build(), s.addresses[0]!.port, "127.0.0.1");
      await expect.poll(() => answers.length, { timeout: 3000 }).toBe(200);
      expect(answers.every((a) => decodeErrorCode(decodeMessage(a).get(AttributeType.ErrorCode)!).code === 401)).toBe(
        true,
      );
      expect((await counts(s)).rateLimited).toBe(0);
      expect(s.allocationCount).toBe(0);
    });

    it("drops wrong credentials from one address past authFailureRate, while that address's honest clients still get in", async () => {
      const s = await server({ authFailureRate: 20 });
      const port = s.addresses[0]!.port;
      const { socket, answers } = await udpProbe();
      socket.send(allocate().build(), port, "127.0.0.1");
      await expect.poll(() => answers.length).toBe(1);
      const nonce = decodeMessage(answers[0]!).get(AttributeType.Nonce)!;
      const wrong = longTermKey("alice", "north.gov", "not-the-password");
      for (let i = 0; i < 60; i++) {
        const req = allocate()
          .add(AttributeType.Username, Buffer.from("alice"))
          .add(AttributeType.Realm, Buffer.from("north.gov"))
          .add(AttributeType.Nonce, nonce)
          .build({ integrityKey: wrong });
        socket.send(req, port, "127.0.0.1");
      }
      await new Promise((r) => setTimeout(r, 300));
      expect(answers.length - 1).toBe(20); // the budget's worth of 401s, the rest dropped unanswered
      expect((await counts(s)).rateLimited).toBe(40);
      // The same address, in the same second: a first request is answered and right credentials allocate.
      socket.send(allocate().build(), port, "127.0.0.1");
      await expect.poll(() => answers.length).toBe(22);
      const honest = await client(s);
      await expect(honest.allocate()).resolves.toBeDefined();
    });

    it("answers a stale nonce with 438 without spending the budget (what long-lived clients send once per nonce)", async () => {
      const s = await server({ authFailureRate: 1 });
      const { socket, answers } = await udpProbe();
      for (let i = 0; i < 10; i++) {
        const req = allocate()
          .add(AttributeType.Username, Buffer.from("alice"))
          .add(AttributeType.Realm, Buffer.from("north.gov"))
          .add(AttributeType.Nonce, Buffer.from("obMatJos2gAAA1.forgedforgedforgedforged"))
          .build({ integrityKey: longTermKey("alice", "north.gov", "secret") });
        socket.send(req, s.addresses[0]!.port, "127.0.0.1");
      }
      await expect.poll(() => answers.length, { timeout: 3000 }).toBe(10);
      expect((await counts(s)).rateLimited).toBe(0);
    });
  });

  describe("TCP/TLS connections that set nothing up", () => {
    it("are closed after streamSetupTimeoutMs, idle or slow, while connections with an allocation stay", async () => {
      const s = await server({ streamSetupTimeoutMs: 300 });
      const port = s.addresses.find((a) => a.transport === "tcp")!.port;
      const { createConnection } = await import("node:net");
      const open = (send?: Buffer) =>
        new Promise<{ closedAfterMs: Promise<number> }>((resolve) => {
          const t0 = Date.now();
          const socket = createConnection({ host: "127.0.0.1", port }, () => {
            if (send) socket.write(send);
            resolve({ closedAfterMs: new Promise((r) => socket.once("close", () => r(Date.now() - t0))) });
          });
          socket.on("error", () => {});
          cleanup.push(() => socket.destroy());
        });
      const idle = await open();
      // Slow: the first two bytes of a STUN header, and then nothing.
      const slow = await open(Buffer.from([0x00, 0x03]));
      const withAllocation = await client(s, "tcp");
      await withAllocation.allocate();
      expect(await idle.closedAfterMs).toBeGreaterThanOrEqual(250);
      expect(await slow.closedAfterMs).toBeLessThan(3000);
      expect((await counts(s)).streamsTimedOut).toBe(2);
      await new Promise((r) => setTimeout(r, 400));
      await expect(withAllocation.refresh(600)).resolves.toBe(600);
    });
  });

  describe("MESSAGE-INTEGRITY-SHA256 with PASSWORD-ALGORITHMS (RFC 8489 §9.2)", () => {
    it("is what a capable client uses when the server offers it, and responses verify with it", async () => {
      const s = await server();
      const c = await client(s);
      await c.allocate();
      expect(c.integrity).toBe("sha256");
      await expect(c.refresh(600)).resolves.toBe(600);
    });

    it("falls back to MD5 for clients that ask for it", async () => {
      const s = await server();
      const port = s.addresses[0]!.port;
      const c = await TurnClient.connect({
        host: "127.0.0.1",
        port,
        username: "alice",
        password: "secret",
        passwordAlgorithm: "md5",
      });
      cleanup.push(() => c.close());
      await c.allocate();
      expect(c.integrity).toBe("md5");
    });

    it("offers only MD5 when a user is configured by its 0x MD5 key, so that user can still log in", async () => {
      const s = await server({ users: ["ninefingers:0xbc807ee29df3c9ffa736523fb2c4e8ee"] });
      const c = await client(s, "udp", "ninefingers", "youhavetoberealistic");
      await c.allocate();
      expect(c.integrity).toBe("md5");
    });

    it("refuses a request whose echoed PASSWORD-ALGORITHMS differs from the offer (downgrade) with 400", async () => {
      const s = await server();
      const socket = createSocket("udp4");
      cleanup.push(() => socket.close());
      const port = s.addresses[0]!.port;
      const ask = (packet: Buffer) =>
        new Promise<ReturnType<typeof decodeMessage>>((resolve) => {
          socket.once("message", (m) => resolve(decodeMessage(m)));
          socket.send(packet, port, "127.0.0.1");
        });
      const challenge = await ask(
        new MessageBuilder(StunMethod.Allocate, StunClass.Request, randomBytes(12))
          .add(AttributeType.RequestedTransport, Buffer.from([17, 0, 0, 0]))
          .build(),
      );
      const nonce = challenge.get(AttributeType.Nonce)!;
      expect(nonce.toString()).toMatch(/^obMatJos2gAAA/);
      expect(challenge.get(AttributeType.PasswordAlgorithms)).toEqual(Buffer.from([0, 2, 0, 0, 0, 1, 0, 0]));
      const stripped = await ask(
        new MessageBuilder(StunMethod.Allocate, StunClass.Request, randomBytes(12))
          .add(AttributeType.RequestedTransport, Buffer.from([17, 0, 0, 0]))
          .add(AttributeType.Username, Buffer.from("alice"))
          .add(AttributeType.Realm, Buffer.from("north.gov"))
          .add(AttributeType.Nonce, nonce)
          .add(AttributeType.PasswordAlgorithm, Buffer.from([0, 1, 0, 0]))
          .add(AttributeType.PasswordAlgorithms, Buffer.from([0, 1, 0, 0])) // SHA-256 stripped by an attacker
          .build({ integrityKey: longTermKey("alice", "north.gov", "secret") }),
      );
      expect(decodeErrorCode(stripped.get(AttributeType.ErrorCode)!).code).toBe(400);
    });
  });

  describe("IPv6 and dual-stack allocations (RFC 8656 §7.2)", () => {
    const dualServer = () => server({ listeningIps: ["127.0.0.1", "::1"] });

    it("gives an IPv6 relay for REQUESTED-ADDRESS-FAMILY IPv6 and relays to an IPv6 peer", async () => {
      const s = await dualServer();
      const a = await client(s);
      const b = await client(s, "udp", "bob", "hunter2");
      const ra = (await a.allocate({ family: 6 })).relayed;
      const rb = (await b.allocate({ family: 6 })).relayed;
      expect(ra).toMatchObject({ family: 6, address: "::1" });
      await a.createPermission(rb.address);
      await b.createPermission(ra.address);
      const atB = nextData(b);
      a.send(rb, Buffer.from("over IPv6"));
      expect((await atB).data.toString()).toBe("over IPv6");
    });

    it("gives both relays for ADDITIONAL-ADDRESS-FAMILY and relays each family through its own", async () => {
      const s = await dualServer();
      const dual = await client(s);
      const v4 = await client(s, "udp", "bob", "hunter2");
      const v6 = await client(s, "udp", "bob", "hunter2");
      const both = await dual.allocate({ dual: true });
      expect(both.relayed.family).toBe(4);
      expect(both.relayed6).toMatchObject({ family: 6, address: "::1" });
      const r4 = (await v4.allocate()).relayed;
      const r6 = (await v6.allocate({ family: 6 })).relayed;
      await dual.createPermission(r4.address, r6.address);
      await v4.createPermission(both.relayed.address);
      await v6.createPermission(both.relayed6!.address);
      const at4 = nextData(v4);
      const at6 = nextData(v6);
      dual.send(r4, Buffer.from("to v4"));
      dual.send(r6, Buffer.from("to v6"));
      expect((await at4).peer).toEqual({ address: both.relayed.address, port: both.relayed.port });
      expect((await at6).peer).toEqual({ address: both.relayed6!.address, port: both.relayed6!.port });
    });

    it("refuses a peer of a family the allocation has no relay for with 443", async () => {
      const s = await dualServer();
      const c = await client(s);
      await c.allocate();
      expect((await failure(c.createPermission("2001:db8::1")))?.stunCode).toBe(443);
    });

    it("answers a dual request on an IPv4-only server with the IPv4 relay alone", async () => {
      const s = await server();
      const c = await client(s);
      const result = await c.allocate({ dual: true });
      expect(result.relayed.family).toBe(4);
      expect(result.relayed6).toBeUndefined();
    });

    it("answers REQUESTED-ADDRESS-FAMILY IPv6 on an IPv4-only server with 440", async () => {
      const s = await server();
      const c = await client(s);
      expect((await failure(c.allocate({ family: 6 })))?.stunCode).toBe(440);
    });
  });

  describe("EVEN-PORT, RESERVATION-TOKEN and bandwidth", () => {
    it("gives an even port, reserves the next one, and hands it over for the token (RTP/RTCP pairs)", async () => {
      const s = await server();
      const rtp = await (await client(s)).allocate({ evenPort: "reserve" });
      expect(rtp.relayed.port % 2).toBe(0);
      expect(rtp.reservationToken?.length).toBe(8);
      const rtcp = await (await client(s)).allocate({ reservationToken: rtp.reservationToken! });
      expect(rtcp.relayed.port).toBe(rtp.relayed.port + 1);
    });

    it("answers an unknown reservation token with 508", async () => {
      const s = await server();
      const c = await client(s);
      expect((await failure(c.allocate({ reservationToken: Buffer.alloc(8, 1) })))?.stunCode).toBe(508);
    });

    it("drops what exceeds maxBytesPerSecond (coturn's --max-bps) and relays the rest", async () => {
      const s = await server({ maxBytesPerSecond: 2000 });
      const a = await client(s);
      const b = await client(s, "udp", "bob", "hunter2");
      const ra = (await a.allocate()).relayed;
      const rb = (await b.allocate()).relayed;
      await a.createPermission(rb.address);
      await b.createPermission(ra.address);
      let received = 0;
      b.on("data", () => received++);
      for (let i = 0; i < 20; i++) a.send(rb, Buffer.alloc(500));
      await new Promise((r) => setTimeout(r, 300));
      expect(received).toBeGreaterThan(0);
      expect(received).toBeLessThanOrEqual(5);
      expect((await counts(s)).relayDropped).toBeGreaterThanOrEqual(15);
    });
  });

  describe("RFC 8016 mobility tickets", () => {
    it("are never cut short by a client that keeps them as C strings: no zero bytes", async () => {
      // coturn's turnutils_uclient stops a ticket at its first zero byte and then fails the move with 437. 64 tickets
      // from 16 random bytes each would include one with a zero byte 98 % of the time.
      const s = await server({ mobility: true });
      const tickets = await Promise.all(
        Array.from({ length: 64 }, async () => (await (await client(s)).allocate({ mobility: true })).mobilityTicket),
      );
      for (const ticket of tickets) {
        expect(ticket?.length).toBeGreaterThanOrEqual(16);
        expect(ticket!.includes(0)).toBe(false);
      }
      expect(new Set(tickets.map((t) => t!.toString("hex"))).size).toBe(64);
    });
  });
}
