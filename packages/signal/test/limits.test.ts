import { createServer } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  createSignalServer,
  SignalClient,
  type SignalServer,
  type SignalServerOptions,
  signToken,
} from "../src/index.js";
import { nextEvent } from "./helpers/events.js";
import { greetedSocket, rawSocket } from "./helpers/raw-socket.js";

const servers: SignalServer[] = [];
const clients: SignalClient[] = [];

async function start(options: SignalServerOptions = {}): Promise<string> {
  const server = createSignalServer(options);
  servers.push(server);
  return `ws://127.0.0.1:${await server.listen(0)}`;
}
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

describe("floods", () => {
  it("warns once with RATE_LIMITED naming the limit, then disconnects a flooder; other members are not disturbed", async () => {
    const url = await start({ messagesPerSecond: 20 });
    const calm = await SignalClient.connect(url);
    clients.push(calm);
    await calm.join("calm-room");
    const flooder = await greetedSocket(url);
    for (let i = 0; i < 200; i++) flooder.send({ type: "ping", id: `p${i}` });
    expect(await flooder.closed).toBe(1008);
    const errors = flooder.inbox.filter((m) => m.type === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: "RATE_LIMITED", message: /more than 20 messages per second/ });
    expect(await calm.ping()).toBeGreaterThanOrEqual(0);
  });

  it("paces a busy client to the server's advertised rate instead of tripping the limit", async () => {
    const url = await start({ messagesPerSecond: 20 });
    const [a, b] = [await SignalClient.connect(url), await SignalClient.connect(url)];
    clients.push(a, b);
    await a.join("r");
    await b.join("r");
    let got = 0;
    b.on("signal", () => got++);
    await Promise.all(Array.from({ length: 30 }, (_, n) => a.signal("r", b.sessionId, "candidate", { n })));
    expect(got).toBe(30);
  });

  it("refuses a hello with no session after the hello timeout with HELLO_REQUIRED", async () => {
    const url = await start({ helloTimeoutMs: 100 });
    const idle = await rawSocket(url);
    expect(await idle.next()).toMatchObject({ type: "error", code: "HELLO_REQUIRED" });
    expect(await idle.closed).toBe(1008);
  });

  it("answers requests before hello with HELLO_REQUIRED and a second hello with ALREADY_GREETED", async () => {
    const url = await start();
    const raw = await rawSocket(url);
    raw.send({ type: "join", id: "j", room: "r" });
    expect(await raw.next()).toMatchObject({ type: "error", re: "j", code: "HELLO_REQUIRED" });
    raw.send({ type: "hello", id: "h", version: 1 });
    expect(await raw.next()).toMatchObject({ type: "welcome" });
    raw.send({ type: "hello", id: "h2", version: 1 });
    expect(await raw.next()).toMatchObject({ type: "error", re: "h2", code: "ALREADY_GREETED" });
    raw.ws.close();
  });
});

describe("authentication", () => {
  const secret = "s3cret-for-tests";

  it("lets in a signed token and refuses none, a forged one and an expired one with UNAUTHORIZED", async () => {
    const url = await start({ tokenSecret: secret });
    const ok = await SignalClient.connect(url, { token: signToken(secret, { sub: "alice" }) });
    clients.push(ok);
    await expect(SignalClient.connect(url)).rejects.toMatchObject({
      code: "UNAUTHORIZED",
      message: /token is required/,
    });
    const forged = signToken("other-secret", { sub: "alice" });
    await expect(SignalClient.connect(url, { token: forged })).rejects.toMatchObject({
      code: "UNAUTHORIZED",
      message: /bad signature/,
    });
    const expired = signToken(secret, { sub: "alice" }, -10);
    await expect(SignalClient.connect(url, { token: expired })).rejects.toMatchObject({
      code: "UNAUTHORIZED",
      message: /expired/,
    });
  });

  it("limits a token to its rooms and to broadcasting if it says so (FORBIDDEN)", async () => {
    const url = await start({ tokenSecret: secret });
    const c = await SignalClient.connect(url, {
      token: signToken(secret, { sub: "bot", rooms: ["team-*"], broadcast: false }),
    });
    clients.push(c);
    await c.join("team-red");
    await expect(c.join("admin")).rejects.toMatchObject({ code: "FORBIDDEN", message: /admin/ });
    await expect(c.broadcast("team-red", "hi")).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("runs a custom authenticate hook with the token and the upgrade request", async () => {
    const url = await start({
      authenticate: (token, request) =>
        token === "letmein" && request?.headers["user-agent"] !== "evil"
          ? { identity: "hooked", rooms: ["lobby"], canBroadcast: true }
          : "go away",
    });
    const c = await SignalClient.connect(url, { token: "letmein" });
    clients.push(c);
    await c.join("lobby");
    await expect(SignalClient.connect(url, { token: "nope" })).rejects.toMatchObject({
      code: "UNAUTHORIZED",
      message: "go away",
    });
  });

  it("refuses upgrades from browser origins outside the allowlist with HTTP 403, and lets in clients without Origin", async () => {
    const url = await start({ allowedOrigins: ["https://app.example"] });
    const ok = await rawSocket(url, { origin: "https://app.example" });
    ok.ws.close();
    const bot = await rawSocket(url); // no Origin header: not a browser, so the token (if any) decides
    bot.ws.close();
    const status = await new Promise<number | undefined>((resolve) => {
      const ws = new WebSocket(url, { origin: "https://evil.example" });
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode));
      ws.on("open", () => resolve(undefined));
      ws.on("error", () => {});
    });
    expect(status).toBe(403);
  });
});

describe("heartbeats and shutdown", () => {
  it("reaps a connection that stops answering pings, and after the resume window the room hears member-left", async () => {
    const url = await start({ heartbeatMs: 100, resumeWindowMs: 200 });
    const watcher = await SignalClient.connect(url);
    clients.push(watcher);
    await watcher.join("r");
    const dead = await greetedSocket(url);
    dead.send({ type: "join", id: "j", room: "r" });
    await dead.next();
    // Stop reading: pings go unanswered, as with a peer whose network vanished without a FIN.
    (dead.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const [room, who] = await nextEvent<[string, string]>(watcher, "member-left", 3000);
    expect(room).toBe("r");
    expect(who).toBe(dead.welcome.sessionId);
  });

  it("tells clients bye on close(), delivers what was queued, and closes with 1001", async () => {
    const url = await start();
    const a = await greetedSocket(url);
    const b = await greetedSocket(url);
    a.send({ type: "join", id: "j", room: "r" });
    await a.next();
    b.send({ type: "join", id: "j", room: "r" });
    await b.next();
    await a.next(); // member-joined
    b.send({ type: "signal", room: "r", to: a.welcome.sessionId, kind: "offer", payload: "x".repeat(30_000) });
    await new Promise((r) => setTimeout(r, 20));
    await servers[0]!.close();
    expect(await a.closed).toBe(1001);
    expect(a.inbox.map((m) => m.type)).toEqual(["signal", "bye"]);
  });

  it("shares an existing http.Server: upgrades on its path are served, other paths are left to their owner", async () => {
    const http = createServer((_req, res) => res.end("app"));
    const signal = createSignalServer();
    servers.push(signal);
    signal.attach(http, "/signal");
    http.on("upgrade", (req, socket) => {
      if (req.url !== "/signal") socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const port = (http.address() as { port: number }).port;
    const c = await SignalClient.connect(`ws://127.0.0.1:${port}/signal`);
    clients.push(c);
    expect(c.welcome.version).toBe(1);
    const status = await new Promise<number | undefined>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/other`);
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode));
      ws.on("error", () => resolve(undefined));
    });
    expect(status).toBe(404);
    c.close();
    http.closeAllConnections();
    await new Promise((r) => http.close(r));
  });
});
