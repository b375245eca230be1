// Client failover between signalling URLs and tokens fetched on every (re)connect: what a client of replicated
// servers relies on. Each server here is its own process state (in memory), so moving to another one is a new
// session, which the client announces (session-replaced) and in which it joins its rooms again.
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createSignalServer, SignalClient, type SignalServer, signToken } from "../src/index.js";
import { nextEvent } from "./helpers/events.js";
import { startTcpProxy, type TcpProxy } from "./helpers/tcp-proxy.js";

/** A port nothing listens on (bound and released). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

const servers: SignalServer[] = [];
const clients: SignalClient[] = [];
const proxies: TcpProxy[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const p of proxies.splice(0)) await p.close();
  for (const s of servers.splice(0)) await s.close();
});

async function start(options: Parameters<typeof createSignalServer>[0] = {}) {
  const server = createSignalServer(options);
  servers.push(server);
  const port = await server.listen(0);
  return { server, port, url: `ws://127.0.0.1:${port}` };
}
const fast = { reconnect: { initialDelayMs: 20, maxDelayMs: 100 } };

describe("several signalling URLs", () => {
  it("connects to the first URL that answers", async () => {
    const dead = `ws://127.0.0.1:${await freePort()}`;
    const { url } = await start();
    const client = await SignalClient.connect([dead, url], fast);
    clients.push(client);
    expect(client.url).toBe(url);
  });

  it("rejects with CONNECT_FAILED naming the last URL when none answers", async () => {
    const urls = [`ws://127.0.0.1:${await freePort()}`, `ws://127.0.0.1:${await freePort()}`];
    await expect(SignalClient.connect(urls, fast)).rejects.toMatchObject({
      code: "CONNECT_FAILED",
      message: expect.stringContaining(urls[1]!),
    });
  });

  it("refuses an empty list with INVALID_OPTION", async () => {
    await expect(SignalClient.connect([], fast)).rejects.toMatchObject({ code: "INVALID_OPTION" });
  });

  it("fails over to the next server when its server goes away, and joins its rooms there", async () => {
    const a = await start();
    const b = await start();
    const client = await SignalClient.connect([a.url, b.url], fast);
    clients.push(client);
    await client.join("standup", { name: "bot" });
    const watcher = await SignalClient.connect(b.url);
    clients.push(watcher);
    await watcher.join("standup");
    const replaced = nextEvent(client, "session-replaced", 10_000);
    const arrived = nextEvent<[string, { id: string; metadata?: unknown }]>(watcher, "member-joined", 10_000);
    await a.server.close();
    await replaced;
    expect(client.url).toBe(b.url);
    const [room, member] = await arrived;
    expect(room).toBe("standup");
    expect(member).toEqual({ id: client.sessionId, metadata: { name: "bot" } });
  });

  it("asks a URL function on every attempt", async () => {
    const a = await start();
    const b = await start();
    const asked: string[] = [];
    let current = a.url;
    const client = await SignalClient.connect(() => {
      asked.push(current);
      return current;
    }, fast);
    clients.push(client);
    current = b.url;
    const replaced = nextEvent(client, "session-replaced", 10_000);
    await a.server.close();
    await replaced;
    expect(client.url).toBe(b.url);
    expect(asked[0]).toBe(a.url);
    expect(asked.at(-1)).toBe(b.url);
  });
});

describe("a token function", () => {
  it("is called on every connect, so a session outlives its first token by resuming with a fresh one", async () => {
    const secret = "rotate-me";
    const { port } = await start({ tokenSecret: secret });
    const proxy = await startTcpProxy(port);
    proxies.push(proxy);
    let calls = 0;
    const client = await SignalClient.connect(`ws://127.0.0.1:${proxy.port}`, {
      ...fast,
      token: async () => {
        calls++;
        return signToken(secret, { sub: "bot" }, calls === 1 ? 1 : 3600);
      },
    });
    clients.push(client);
    const id = client.sessionId;
    await new Promise((r) => setTimeout(r, 1100)); // the first token has expired
    // The path drops; the client resumes with a fresh token and keeps its member id.
    const resumed = nextEvent(client, "resumed", 10_000);
    proxy.cut();
    await resumed;
    expect(client.sessionId).toBe(id);
    expect(calls).toBe(2);
  });
});
