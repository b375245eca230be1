import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSignalServer, PROTOCOL_VERSION, SignalClient, SignalError, type SignalServer } from "../src/index.js";
import { rawSocket } from "./helpers/raw-socket.js";

let server: SignalServer;
let url: string;

beforeEach(async () => {
  server = createSignalServer({ maxMessageBytes: 4096 });
  url = `ws://127.0.0.1:${await server.listen(0)}`;
});
afterEach(() => server.close());

const raw = () => rawSocket(url);

describe("hello/welcome", () => {
  it("welcomes a client with a session id, the protocol version and the server's limits", async () => {
    const client = await SignalClient.connect(url);
    expect(client.welcome).toMatchObject({
      type: "welcome",
      version: PROTOCOL_VERSION,
      limits: { maxMessageBytes: 4096 },
    });
    expect(client.welcome.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    client.close();
  });

  it("gives each connection its own session id", async () => {
    const [a, b] = await Promise.all([SignalClient.connect(url), SignalClient.connect(url)]);
    expect(a.welcome.sessionId).not.toBe(b.welcome.sessionId);
    a.close();
    b.close();
  });

  it("rejects connect() with CONNECT_FAILED when nothing listens", async () => {
    await server.close();
    const err = await SignalClient.connect(url).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "CONNECT_FAILED" });
  });

  it("rejects connect() with CONNECT_FAILED for port 1, which Node 22+'s WebSocket refuses within a microtask", async () => {
    // The Fetch standard's "bad port" list: undici fails such a socket before any handler set after an await could
    // see it; the client used to wait forever (and `parley` exited 0 with no word on Node 22 and 24).
    const err = await SignalClient.connect("ws://127.0.0.1:1/", { reconnect: false }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "CONNECT_FAILED" });
  });

  it("rejects connect() with CONNECT_FAILED for any WebSocket that fails right after its constructor", async () => {
    class FailsAtOnce {
      readyState = 0;
      onopen: (() => void) | null = null;
      onerror: ((ev: unknown) => void) | null = null;
      onclose: ((ev: { code: number; reason: string }) => void) | null = null;
      onmessage = null;
      constructor() {
        queueMicrotask(() => {
          this.readyState = 3;
          this.onerror?.({});
          this.onclose?.({ code: 1006, reason: "" });
        });
      }
      send() {}
      close() {}
    }
    const err = await SignalClient.connect(url, { WebSocket: FailsAtOnce, reconnect: false }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "CONNECT_FAILED", message: `cannot open WebSocket to ${url}` });
  });

  it("refuses an unsupported protocol version with UNSUPPORTED_VERSION naming both versions", async () => {
    const err = await SignalClient.connect(url, { version: 99 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SignalError);
    expect((err as SignalError).code).toBe("UNSUPPORTED_VERSION");
    expect((err as SignalError).message).toMatch(/version 99 is not supported; this server speaks 1/);
  });
});

describe("bad input gets a precise error and the connection keeps working", () => {
  const rows: Array<[string, string | Buffer, string, RegExp]> = [
    ["text that is not JSON", "{nope", "BAD_JSON", /not JSON/],
    ["an unknown message type", JSON.stringify({ type: "teleport", id: "7" }), "BAD_MESSAGE", /type/],
    [
      "a hello with a string version",
      JSON.stringify({ type: "hello", id: "7", version: "1" }),
      "BAD_MESSAGE",
      /version/,
    ],
    [
      "a hello with an unknown field",
      JSON.stringify({ type: "hello", id: "7", version: 1, admin: true }),
      "BAD_MESSAGE",
      /admin/,
    ],
    ["a binary frame", Buffer.from([1, 2, 3]), "BAD_MESSAGE", /binary frame/],
  ];
  for (const [name, frame, code, message] of rows) {
    it(`answers ${name} with ${code}`, async () => {
      const { ws, next } = await raw();
      ws.send(frame);
      const error = await next();
      expect(error).toMatchObject({ type: "error", code });
      expect(error.message).toMatch(message);
      ws.send(JSON.stringify({ type: "hello", id: "2", version: PROTOCOL_VERSION }));
      expect(await next()).toMatchObject({ type: "welcome", re: "2" });
      ws.close();
    });
  }

  it("echoes the offending request id in the error", async () => {
    const { ws, next } = await raw();
    ws.send(JSON.stringify({ type: "hello", id: "abc", version: -1 }));
    expect(await next()).toMatchObject({ type: "error", re: "abc", code: "BAD_MESSAGE" });
    ws.close();
  });

  it("answers an oversized frame with MESSAGE_TOO_LARGE naming the limit, then closes with 1009", async () => {
    const { ws, next } = await raw();
    const closed = new Promise<number>((resolve) => ws.once("close", resolve));
    ws.send(JSON.stringify({ type: "hello", id: "1", version: 1, token: "x".repeat(5000) }));
    const error = await next();
    expect(error).toMatchObject({ type: "error", code: "MESSAGE_TOO_LARGE" });
    expect(error.message).toMatch(/exceeds maxMessageBytes 4096/);
    expect(await closed).toBe(1009);
  });
});
