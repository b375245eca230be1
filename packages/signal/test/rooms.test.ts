import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSignalServer, SignalClient, type SignalMessage, type SignalServer } from "../src/index.js";
import { nextEvent, until } from "./helpers/events.js";
import { greetedSocket } from "./helpers/raw-socket.js";

let server: SignalServer;
let url: string;
const clients: SignalClient[] = [];

async function connect(): Promise<SignalClient> {
  const client = await SignalClient.connect(url);
  clients.push(client);
  return client;
}

beforeEach(async () => {
  server = createSignalServer({ roomCapacity: 3, roomsPerConnection: 2 });
  url = `ws://127.0.0.1:${await server.listen(0)}`;
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
});

describe("rooms", () => {
  it("tells a joiner who is there and tells the others who came, with metadata", async () => {
    const alice = await connect();
    const bob = await connect();
    const aliceRoom = await alice.join("standup", { name: "alice" });
    expect(aliceRoom.self).toBe(alice.sessionId);
    expect(aliceRoom.members.size).toBe(0);
    const seen = nextEvent(alice, "member-joined");
    const bobRoom = await bob.join("standup", { name: "bob" });
    expect([...bobRoom.members.values()]).toEqual([{ id: alice.sessionId, metadata: { name: "alice" } }]);
    expect(await seen).toEqual(["standup", { id: bob.sessionId, metadata: { name: "bob" } }]);
    expect(alice.rooms.get("standup")?.members.has(bob.sessionId)).toBe(true);
  });

  it("tells the others when a member leaves, and when its connection closes for good", async () => {
    const [alice, bob, carol] = [await connect(), await connect(), await connect()];
    for (const c of [alice, bob, carol]) await c.join("r");
    const left = nextEvent(alice, "member-left");
    await bob.leave("r");
    expect(await left).toEqual(["r", bob.sessionId]);
    expect(bob.rooms.has("r")).toBe(false);
    // close() ends the session at once (no resume expected), so the room hears of it without waiting a window.
    const gone = nextEvent(alice, "member-left");
    carol.close();
    expect(await gone).toEqual(["r", carol.sessionId]);
  });

  it("refuses a join beyond the room's capacity with ROOM_FULL, and beyond rooms per connection with TOO_MANY_ROOMS", async () => {
    const members = [await connect(), await connect(), await connect()];
    for (const m of members) await m.join("small");
    const late = await connect();
    await expect(late.join("small")).rejects.toMatchObject({ code: "ROOM_FULL", message: /3 members/ });
    await late.join("a");
    await late.join("b");
    await expect(late.join("c")).rejects.toMatchObject({ code: "TOO_MANY_ROOMS", message: /limit 2/ });
  });

  it("answers leave for a room it is not in with NOT_IN_ROOM", async () => {
    const alice = await connect();
    await expect(alice.leave("nowhere")).rejects.toMatchObject({ code: "NOT_IN_ROOM" });
  });

  it("refuses room names outside the allowed alphabet with BAD_MESSAGE naming the field", async () => {
    const alice = await connect();
    await expect(alice.join("../etc")).rejects.toMatchObject({ code: "BAD_MESSAGE", message: /room/ });
  });
});

describe("signals", () => {
  it("delivers a signal to the addressed member, stamped with the true sender", async () => {
    const alice = await connect();
    const bob = await connect();
    await alice.join("r");
    await bob.join("r");
    const got = nextEvent<[SignalMessage]>(bob, "signal");
    const offer = { type: "offer", sdp: "v=0\r\n..." };
    await alice.signal("r", bob.sessionId, "offer", offer);
    const [msg] = await got;
    expect(msg).toMatchObject({ type: "signal", room: "r", from: alice.sessionId, kind: "offer", payload: offer });
  });

  it("refuses a signal that claims a sender (BAD_MESSAGE) and delivers nothing", async () => {
    const victim = await connect();
    const bob = await connect();
    await victim.join("r");
    await bob.join("r");
    const mallory = await greetedSocket(url);
    mallory.send({ type: "join", id: "j", room: "r" });
    expect(await mallory.next()).toMatchObject({ type: "joined" });
    const received: SignalMessage[] = [];
    bob.on("signal", (m) => received.push(m));
    mallory.send({
      type: "signal",
      id: "s",
      room: "r",
      to: bob.sessionId,
      from: victim.sessionId,
      kind: "offer",
      payload: {},
    });
    expect(await mallory.next()).toMatchObject({ type: "error", re: "s", code: "BAD_MESSAGE", message: /from/ });
    await bob.ping();
    expect(received).toEqual([]);
  });

  it("refuses signals to members of other rooms and to unknown ids with UNKNOWN_MEMBER, and from outside a room with NOT_IN_ROOM", async () => {
    const alice = await connect();
    const bob = await connect();
    await alice.join("r1");
    await bob.join("r2");
    await expect(alice.signal("r1", bob.sessionId, "offer", {})).rejects.toMatchObject({ code: "UNKNOWN_MEMBER" });
    await expect(alice.signal("r1", "no-such-id", "candidate", {})).rejects.toMatchObject({ code: "UNKNOWN_MEMBER" });
    await expect(alice.signal("r2", bob.sessionId, "offer", {})).rejects.toMatchObject({ code: "NOT_IN_ROOM" });
  });

  it("broadcasts to every other member of the room, not to the sender nor to other rooms", async () => {
    const [a, b, c, outsider] = [await connect(), await connect(), await connect(), await connect()];
    for (const x of [a, b, c]) await x.join("r");
    await outsider.join("other");
    const got = new Map<SignalClient, unknown[]>();
    for (const x of [a, b, c, outsider]) {
      got.set(x, []);
      x.on("broadcast", (m) => got.get(x)?.push(m.payload));
    }
    await a.broadcast("r", { chat: "hi" });
    await until(() => got.get(b)!.length === 1 && got.get(c)!.length === 1, 2000, "broadcast delivery");
    await Promise.all([a.ping(), outsider.ping()]);
    expect(got.get(a)).toEqual([]);
    expect(got.get(outsider)).toEqual([]);
    expect(got.get(b)).toEqual([{ chat: "hi" }]);
  });

  it("keeps the order of signals from one sender", async () => {
    const alice = await connect();
    const bob = await connect();
    await alice.join("r");
    await bob.join("r");
    const seen: number[] = [];
    bob.on("signal", (m) => seen.push((m.payload as { n: number }).n));
    await Promise.all(Array.from({ length: 40 }, (_, n) => alice.signal("r", bob.sessionId, "candidate", { n })));
    await until(() => seen.length === 40, 3000, "40 signals");
    expect(seen).toEqual(Array.from({ length: 40 }, (_, n) => n));
  });
});
