// The admin API as an operator uses it over HTTP (mounted like parley-signal --admin-token does), with real clients
// in the rooms it lists, kicks and closes.
import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { adminHandler, createSignalServer, SignalClient, type SignalServer } from "../src/index.js";
import { nextEvent } from "./helpers/events.js";
import { rawSocket } from "./helpers/raw-socket.js";

const TOKEN = "an-operator-secret-0123";
let signal: SignalServer;
let http: Server;
let base: string;
const clients: SignalClient[] = [];

async function setup() {
  signal = createSignalServer();
  const admin = adminHandler(signal, { token: TOKEN, prefix: "/admin" });
  http = createServer((req, res) => (req.url?.startsWith("/admin") ? admin(req, res) : res.writeHead(404).end()));
  signal.attach(http, "/signal");
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const { port } = http.address() as { port: number };
  base = `http://127.0.0.1:${port}`;
  const url = `ws://127.0.0.1:${port}/signal`;
  const connect = async () => {
    const c = await SignalClient.connect(url, { reconnect: { initialDelayMs: 20, maxDelayMs: 50 } });
    clients.push(c);
    return c;
  };
  return { url, connect };
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await signal?.close();
  await new Promise((r) => http?.close(r));
});

/** An admin request; `token` null sends no Authorization header. */
const call = (method: string, path: string, token: string | null = TOKEN) =>
  fetch(`${base}/admin${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });

describe("admin API", () => {
  it("refuses requests without the bearer token, or with a wrong one, with 401", async () => {
    await setup();
    for (const token of [null, "wrong-token-wrong-token", `${TOKEN}x`]) {
      const res = await call("GET", "/rooms", token);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
  });

  it("lists rooms with their member counts, and a room's members with their metadata", async () => {
    const { connect } = await setup();
    const [a, b, c] = await Promise.all([connect(), connect(), connect()]);
    await a.join("standup", { name: "Ada" });
    await b.join("standup");
    await c.join("retro");
    expect(await (await call("GET", "/rooms")).json()).toEqual({
      rooms: [
        { room: "retro", members: 1 },
        { room: "standup", members: 2 },
      ],
    });
    const standup = await (await call("GET", "/rooms/standup")).json();
    expect(standup.members).toEqual(
      expect.arrayContaining([{ id: a.sessionId, metadata: { name: "Ada" } }, { id: b.sessionId }]),
    );
    expect((await call("GET", "/rooms/nowhere")).status).toBe(404);
  });

  it("kicks a member: its connection closes with 4003, it does not come back, the room sees member-left", async () => {
    const { url, connect } = await setup();
    const [bad, good] = await Promise.all([connect(), connect()]);
    await bad.join("r");
    await good.join("r");
    const { sessionId, resumeToken } = bad.welcome;
    const left = nextEvent<[string, string]>(good, "member-left");
    const closed = nextEvent<[Error]>(bad, "close");
    expect((await call("DELETE", `/members/${sessionId}`)).status).toBe(204);
    expect(await left).toEqual(["r", sessionId]);
    expect((await closed)[0].message).toMatch(/4003 removed by an operator/);
    // Its resume is revoked.
    const raw = await rawSocket(url);
    raw.send({ type: "hello", id: "h", version: 1, resume: { sessionId, resumeToken, lastSeq: 0 } });
    expect(await raw.next()).toMatchObject({ type: "error", code: "SESSION_EXPIRED" });
    raw.ws.close();
    expect((await call("DELETE", `/members/${sessionId}`)).status).toBe(404);
  });

  it("closes a room: its members are told (removed) and keep their sessions", async () => {
    const { connect } = await setup();
    const [a, b] = await Promise.all([connect(), connect()]);
    await a.join("r");
    await b.join("r");
    const removed = nextEvent<[string, string]>(a, "removed");
    expect(await (await call("DELETE", "/rooms/r")).json()).toEqual({ room: "r", removed: 2 });
    expect(await removed).toEqual(["r", "the room was closed by an operator"]);
    expect(a.rooms.has("r")).toBe(false);
    expect(await (await call("GET", "/rooms")).json()).toEqual({ rooms: [] });
    expect(await a.ping()).toBeGreaterThanOrEqual(0);
    await a.join("r"); // and may join again
  });

  it("answers a wrong method with 405 and Allow, a malformed name with 400, an unknown path with 404", async () => {
    await setup();
    const res = await call("POST", "/rooms");
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET");
    expect((await call("GET", "/rooms/a%20b")).status).toBe(400);
    expect((await call("GET", "/rooms/%E0%A4%A")).status).toBe(400);
    expect((await call("GET", "/sessions")).status).toBe(404);
  });

  it("refuses a short token with INVALID_OPTION", () => {
    expect(() => adminHandler(createSignalServer(), { token: "short" })).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION" }),
    );
  });
});
