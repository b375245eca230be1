// The edges of PROTOCOL.md, driven by raw sockets that do only what the document says: resume after a long
// session, resume tokens and token expiry, takeover, JWT headers as libraries write them, hostile frames, floods,
// and metadata updates. Each case was a bug found by a client written from the document alone.
import { createHmac } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createSignalServer, type SignalServer, type SignalServerOptions, signToken } from "../src/index.js";
import { greetedSocket, type RawSocket, rawSocket } from "./helpers/raw-socket.js";

const servers: SignalServer[] = [];
const sockets: RawSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.ws.terminate();
  for (const s of servers.splice(0)) await s.close();
});

async function start(options: SignalServerOptions = {}): Promise<string> {
  const server = createSignalServer(options);
  servers.push(server);
  return `ws://127.0.0.1:${await server.listen(0)}`;
}

async function greeted(url: string, token?: string) {
  const s = await greetedSocket(url, token);
  sockets.push(s);
  return s;
}

/** Cuts Alice's connection and waits until the server has noticed: her session is detached, not just unlucky. */
async function cut(alice: RawSocket, connectionsLeft = 1) {
  alice.ws.terminate();
  await expect.poll(() => servers.at(-1)!.connectionCount).toBe(connectionsLeft);
}

/** Waits for the next message of `type`, keeping the others in order in `skipped`. */
async function nextOf(s: RawSocket, type: string, skipped: Record<string, unknown>[] = []) {
  for (;;) {
    const m = await s.next();
    if (m.type === type) return m;
    skipped.push(m);
  }
}

/** Alice (raw, following PROTOCOL.md) and Bob in room "r"; Alice's highest seq so far. */
async function pair(url: string) {
  const alice = await greeted(url);
  alice.send({ type: "join", id: "j", room: "r" });
  await nextOf(alice, "joined");
  const bob = await greeted(url);
  bob.send({ type: "join", id: "j", room: "r" });
  await nextOf(bob, "joined");
  const joined = await nextOf(alice, "member-joined");
  return { alice, bob, lastSeq: joined.seq as number };
}

/** Bob signals Alice `count` times, each acknowledged before the next (so they are sent, in order). */
async function signals(bob: RawSocket, to: string, from: number, count: number) {
  for (let n = from; n < from + count; n++) {
    bob.send({ type: "signal", id: `s${n}`, room: "r", to, kind: "candidate", payload: { n } });
    await nextOf(bob, "ack");
  }
}

async function resume(url: string, welcome: Record<string, unknown>, lastSeq: number, token?: string) {
  const s = await rawSocket(url);
  sockets.push(s);
  s.send({
    type: "hello",
    id: "h2",
    version: 1,
    ...(token ? { token } : {}),
    resume: { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken, lastSeq },
  });
  return { socket: s, answer: await s.next() };
}

describe("resume after a long session (more messages in its life than the outbox holds)", () => {
  it("resumes with lastSeq 256 after 256 processed messages and one more while away", async () => {
    const url = await start({ messagesPerSecond: 1000 });
    const { alice, bob, lastSeq } = await pair(url);
    const id = alice.welcome.sessionId as string;
    await signals(bob, id, 0, 256 - lastSeq);
    let seq = lastSeq;
    while (seq < 256) seq = (await nextOf(alice, "signal")).seq as number;
    await cut(alice);
    await signals(bob, id, 1000, 1);
    const { socket, answer } = await resume(url, alice.welcome, 256);
    expect(answer).toMatchObject({ type: "welcome", resumed: true, sessionId: id });
    expect(await socket.next()).toMatchObject({ type: "signal", seq: 257, payload: { n: 1000 } });
  });

  it("after received: a client away for a full outbox of new messages gets all of them", async () => {
    const url = await start({ messagesPerSecond: 1000, outboxMessages: 16 });
    const { alice, bob, lastSeq } = await pair(url);
    const id = alice.welcome.sessionId as string;
    await signals(bob, id, 0, 40);
    let seq = lastSeq;
    while (seq < lastSeq + 40) seq = (await nextOf(alice, "signal")).seq as number;
    alice.send({ type: "received", seq });
    await new Promise((r) => setTimeout(r, 50));
    await cut(alice);
    await signals(bob, id, 100, 16);
    const { socket, answer } = await resume(url, alice.welcome, seq);
    expect(answer).toMatchObject({ type: "welcome", resumed: true });
    const replayed = [];
    for (let i = 0; i < 16; i++) replayed.push(((await socket.next()).payload as { n: number }).n);
    expect(replayed).toEqual(Array.from({ length: 16 }, (_, i) => 100 + i));
  });

  it("says which messages were lost when the gap outgrew the outbox", async () => {
    const url = await start({ messagesPerSecond: 1000, outboxMessages: 8 });
    const { alice, bob, lastSeq } = await pair(url);
    await cut(alice);
    await signals(bob, alice.welcome.sessionId as string, 0, 12);
    const { answer } = await resume(url, alice.welcome, lastSeq);
    expect(answer).toMatchObject({ type: "error", re: "h2", code: "SESSION_EXPIRED" });
    expect(answer.message).toMatch(
      new RegExp(`messages ${lastSeq + 1} to ${lastSeq + 4} were dropped \\(the outbox keeps 8 messages`),
    );
  });

  it("refuses a lastSeq ahead of the server with BAD_MESSAGE saying so, and keeps the session for its holder", async () => {
    const url = await start();
    const { alice, lastSeq } = await pair(url);
    await cut(alice);
    const { answer } = await resume(url, alice.welcome, 1_000_000);
    expect(answer).toMatchObject({ type: "error", code: "BAD_MESSAGE" });
    expect(answer.message).toBe(
      `resume.lastSeq 1000000 is ahead of the last message this session was sent (seq ${lastSeq})`,
    );
    expect((await resume(url, alice.welcome, lastSeq)).answer).toMatchObject({ type: "welcome", resumed: true });
  });

  it("refuses received.seq ahead of the last message sent", async () => {
    const url = await start();
    const { alice, lastSeq } = await pair(url);
    alice.send({ type: "received", seq: lastSeq + 5 });
    expect(await nextOf(alice, "error")).toMatchObject({
      code: "BAD_MESSAGE",
      message: `received.seq ${lastSeq + 5} is ahead of the last message sent (seq ${lastSeq})`,
    });
  });
});

describe("resume tokens and takeover", () => {
  it("rotates the resume token on every resume: the old one works only until the client uses the new connection", async () => {
    const url = await start();
    const { alice } = await pair(url);
    await cut(alice);
    // A welcome lost to a cut: the client holds only the token it resumed with, and that one still works…
    const lost = await resume(url, alice.welcome, 0);
    expect(lost.answer.resumeToken).not.toBe(alice.welcome.resumeToken);
    lost.socket.ws.terminate();
    const first = await resume(url, alice.welcome, 0);
    expect(first.answer).toMatchObject({ type: "welcome", resumed: true });
    // …until a frame on the new connection shows the client got the new one: then the old one is dead.
    first.socket.send({ type: "ping", id: "p" });
    await nextOf(first.socket, "pong");
    first.socket.ws.terminate();
    const stale = await resume(url, alice.welcome, 0);
    expect(stale.answer).toMatchObject({ type: "error", code: "SESSION_EXPIRED" });
    expect((await resume(url, first.answer, 0)).answer).toMatchObject({ type: "welcome", resumed: true });
  });

  it("closes the connection it takes over with 4001 and a reason, not a bare drop", async () => {
    const url = await start();
    const { alice } = await pair(url);
    const reason = new Promise<string>((r) => alice.ws.once("close", (_code, why) => r(String(why))));
    await resume(url, alice.welcome, 0);
    expect(await alice.closed).toBe(4001);
    expect(await reason).toBe("session resumed on another connection");
  });

  it("bounds a session by its token: past exp a resume needs a fresh token for the same identity", async () => {
    const secret = "s3cret";
    const url = await start({ tokenSecret: secret });
    const alice = await greeted(url, signToken(secret, { sub: "alice" }, 1));
    await cut(alice, 0);
    await new Promise((r) => setTimeout(r, 1100));
    const expired = await resume(url, alice.welcome, 0);
    expect(expired.answer).toMatchObject({ type: "error", code: "SESSION_EXPIRED" });
    expect(expired.answer.message).toMatch(/token has expired; resume with a fresh token/);
    const someoneElse = await resume(url, alice.welcome, 0, signToken(secret, { sub: "mallory" }));
    expect(someoneElse.answer).toMatchObject({ type: "error", code: "UNAUTHORIZED" });
    expect(someoneElse.answer.message).toBe("the token is for another identity than the session");
    const fresh = await resume(url, alice.welcome, 0, signToken(secret, { sub: "alice" }));
    expect(fresh.answer).toMatchObject({ type: "welcome", resumed: true, sessionId: alice.welcome.sessionId });
  });
});

/** An HS256 JWT with exactly this header, as a JWT library other than ours would write it. */
function jwt(secret: string, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const body = `${b64(header)}.${b64({ exp: Math.floor(Date.now() / 1000) + 60, ...claims })}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}

describe("tokens as JWT libraries write them", () => {
  const secret = "library-secret";
  const accepted: Array<[string, Record<string, unknown>]> = [
    ['jose\'s default {"alg":"HS256"}', { alg: "HS256" }],
    ["typ before alg", { typ: "JWT", alg: "HS256" }],
    ["a kid", { alg: "HS256", kid: "key-2026", typ: "JWT" }],
  ];
  for (const [name, header] of accepted) {
    it(`accepts a header with ${name}`, async () => {
      const url = await start({ tokenSecret: secret });
      const s = await greeted(url, jwt(secret, header, { sub: "alice" }));
      expect(s.welcome.type).toBe("welcome");
    });
  }
  const refused: Array<[string, Record<string, unknown>, RegExp]> = [
    ['alg "none"', { alg: "none" }, /token alg must be HS256, got "none"/],
    ["alg HS512", { alg: "HS512" }, /token alg must be HS256, got "HS512"/],
    ["a crit extension", { alg: "HS256", crit: ["b64"] }, /crit extensions/],
  ];
  for (const [name, header, message] of refused) {
    it(`refuses a header with ${name}`, async () => {
      const url = await start({ tokenSecret: secret });
      const s = await rawSocket(url);
      sockets.push(s);
      s.send({ type: "hello", id: "h", version: 1, token: jwt(secret, header, { sub: "alice" }) });
      const answer = await s.next();
      expect(answer).toMatchObject({ type: "error", code: "UNAUTHORIZED" });
      expect(answer.message).toMatch(message);
    });
  }
  for (const rooms of ["lobby", [1, 2], { a: 1 }, [""]]) {
    it(`refuses a rooms claim of ${JSON.stringify(rooms)} at hello with UNAUTHORIZED`, async () => {
      const url = await start({ tokenSecret: secret });
      const s = await rawSocket(url);
      sockets.push(s);
      s.send({ type: "hello", id: "h", version: 1, token: jwt(secret, { alg: "HS256" }, { sub: "a", rooms }) });
      expect(await s.next()).toMatchObject({
        type: "error",
        code: "UNAUTHORIZED",
        message: "token claim rooms must be an array of room names or prefixes ending in *",
      });
      expect(await s.closed).toBe(1008);
    });
  }
});

describe("hostile and odd frames", () => {
  it("answers JSON nested 5,000 levels deep with BAD_MESSAGE and keeps the connection", async () => {
    const url = await start();
    const s = await greeted(url);
    s.send(`{"type":"ping","id":"p","x":${"[".repeat(5000)}${"]".repeat(5000)}}`);
    expect(await s.next()).toMatchObject({
      type: "error",
      code: "BAD_MESSAGE",
      message: "JSON nested deeper than 32 levels",
    });
    s.send({ type: "ping", id: "p2" });
    expect(await s.next()).toMatchObject({ type: "pong", re: "p2" });
  });

  it("refuses metadata that is an array, as PROTOCOL.md says object", async () => {
    const url = await start();
    const s = await greeted(url);
    s.send({ type: "join", id: "j", room: "r", metadata: [1] });
    expect(await s.next()).toMatchObject({
      type: "error",
      re: "j",
      code: "BAD_MESSAGE",
      message: "metadata: metadata must be an object",
    });
  });

  it("says RATE_LIMITED once per flood, even when tokens trickle back during it", async () => {
    const url = await start({ messagesPerSecond: 10 });
    const s = await greeted(url);
    for (let i = 0; i < 25; i++) s.send({ type: "ping", id: `a${i}` });
    await new Promise((r) => setTimeout(r, 250)); // two tokens come back; the flood goes on
    for (let i = 0; i < 8; i++) s.send({ type: "ping", id: `b${i}` });
    await new Promise((r) => setTimeout(r, 300));
    expect(s.inbox.filter((m) => m.code === "RATE_LIMITED")).toHaveLength(1);
  });

  it("answers a 70 KB frame with MESSAGE_TOO_LARGE before closing with 1009", async () => {
    const url = await start();
    const s = await greeted(url);
    s.send({ type: "ping", id: "p", pad: "x".repeat(70_000) });
    expect(await s.next()).toMatchObject({ type: "error", code: "MESSAGE_TOO_LARGE" });
    expect(await s.closed).toBe(1009);
  });
});

describe("metadata updates", () => {
  it("tells the others member-updated when a member joins again with new metadata, and nothing for the same", async () => {
    const url = await start();
    const { alice, bob } = await pair(url);
    bob.send({ type: "join", id: "j2", room: "r", metadata: { name: "Bob" } });
    await nextOf(bob, "joined");
    expect(await nextOf(alice, "member-updated")).toMatchObject({
      room: "r",
      member: { id: bob.welcome.sessionId, metadata: { name: "Bob" } },
    });
    bob.send({ type: "join", id: "j3", room: "r", metadata: { name: "Bob" } });
    await nextOf(bob, "joined");
    alice.send({ type: "ping", id: "p" });
    const between: Record<string, unknown>[] = [];
    await nextOf(alice, "pong", between);
    expect(between).toEqual([]);
  });
});
