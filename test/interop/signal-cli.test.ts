// parley-signal run as an operator runs it: flags, tokens, TURN credentials, /healthz, clean shutdown, and precise
// refusals of bad command lines.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { SignalClient, signToken } from "@parley/signal";
import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { selfSignedCert } from "../helpers/parley-turn.js";
import { freePort } from "../helpers/ports.js";
import { runProgram, startProgram } from "../helpers/programs.js";
import { hasTool } from "../helpers/require-tool.js";

const cli = fileURLToPath(new URL("../../packages/signal/dist/cli/signal-server.js", import.meta.url));

describe("parley-signal", () => {
  it("serves with tokens and TURN credentials, answers /healthz, and says bye to clients on SIGTERM", async () => {
    const port = await freePort();
    const program = await startProgram({
      name: "parley-signal",
      command: process.execPath,
      args: [
        cli,
        "--port",
        String(port),
        "--host",
        "127.0.0.1",
        "--path",
        "/ws",
        "--token-secret",
        "tok",
        "--turn-secret",
        "turn",
        "--turn-url",
        "turn:127.0.0.1:3478?transport=udp",
        "--room-capacity",
        "2",
        "--admin-token",
        "admin-token-0123456789",
      ],
      readyLine: /ready on ws:\/\/127\.0\.0\.1:\d+\/ws \(HS256 tokens required\)/,
    });
    const client = await SignalClient.connect(`ws://127.0.0.1:${port}/ws`, {
      token: signToken("tok", { sub: "op" }),
      reconnect: false,
    });
    expect(client.welcome.iceServers[0]).toMatchObject({
      urls: ["turn:127.0.0.1:3478?transport=udp"],
      username: /:op$/,
    });
    expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()).toEqual({ sessions: 1 });
    await client.join("ops");
    const admin = (path: string, token = "admin-token-0123456789") =>
      fetch(`http://127.0.0.1:${port}/admin${path}`, { headers: { authorization: `Bearer ${token}` } });
    expect(await (await admin("/rooms")).json()).toEqual({ rooms: [{ room: "ops", members: 1 }] });
    expect((await admin("/rooms", "not-the-admin-token")).status).toBe(401);
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    expect(text).toMatch(/^parley_signal_sessions 1$/m);
    expect(text).toMatch(/^parley_signal_messages_total\{type="hello"\} 1$/m);
    const closed = new Promise((resolve) => client.once("close", resolve));
    program.process.kill("SIGTERM");
    expect(await closed).toMatchObject({ code: "CLOSED", message: /bye/ });
    expect(await new Promise((resolve) => program.process.once("exit", resolve))).toBe(0);
  });

  it.skipIf(!hasTool("openssl"))(
    "serves wss:// with --cert and --key, and plain ws:// to that port fails",
    async () => {
      const { cert, key } = selfSignedCert();
      const port = await freePort();
      const program = await startProgram({
        name: "parley-signal",
        command: process.execPath,
        args: [cli, "--port", String(port), "--host", "127.0.0.1", "--cert", cert, "--key", key],
        readyLine: /ready on wss:\/\/127\.0\.0\.1:\d+\//,
      });
      // A client that trusts exactly this certificate (what an operator's own CA would give).
      const ca = readFileSync(cert);
      class TrustingWebSocket extends WebSocket {
        constructor(url: string) {
          super(url, { ca, checkServerIdentity: () => undefined });
        }
      }
      const client = await SignalClient.connect(`wss://127.0.0.1:${port}/`, {
        WebSocket: TrustingWebSocket,
        reconnect: false,
      });
      expect(client.sessionId).toMatch(/\w/);
      client.close();
      // An unverified certificate is refused by default, as it should be.
      await expect(SignalClient.connect(`wss://127.0.0.1:${port}/`, { reconnect: false })).rejects.toMatchObject({
        code: "CONNECT_FAILED",
      });
      await expect(
        SignalClient.connect(`ws://127.0.0.1:${port}/`, { WebSocket: TrustingWebSocket, reconnect: false }),
      ).rejects.toMatchObject({ code: "CONNECT_FAILED" });
      await program.stop();
    },
  );

  const refusals: Array<[string[], RegExp]> = [
    [["--cert", "server.pem"], /--cert needs --key/],
    [["--key", "server.key"], /--key needs --cert/],
    [["--cert", "/nonexistent/cert.pem", "--key", "/nonexistent/key.pem"], /--cert \/nonexistent\/cert\.pem: ENOENT/],
    [
      ["--cert", fileURLToPath(import.meta.url), "--key", fileURLToPath(import.meta.url)],
      /--cert\/--key: .*PEM|no start line/,
    ],
    [["--port", "http"], /--port must be an integer from 0 to 65535, got "http"/],
    [["--turn-url", "turn:x:3478"], /--turn-url needs --turn-secret/],
    [["--turn-secret", "s", "--turn-url", "http://x"], /--turn-url "http:\/\/x" is not a/],
    [["--allowed-origin", "example.org"], /--allowed-origin "example.org" is not a/],
    [["--frobnicate"], /Unknown option '--frobnicate'/],
    [["--path", "ws"], /--path must start with "\/"/],
    [["--admin-token", "short"], /--admin-token must be at least 16 characters, got 5/],
    [["--redis", "localhost:6379"], /--redis must be a redis:\/\/ or rediss:\/\/ URL, got "localhost:6379"/],
    [["--redis-prefix", "app:"], /--redis-prefix needs --redis/],
    [["--redis", "redis://127.0.0.1:6379", "--redis-prefix", "a b"], /--redis-prefix must be 1 to 64/],
  ];
  for (const [args, message] of refusals) {
    it(`refuses ${args.join(" ")} with exit 2 and a precise message`, async () => {
      const { code, output } = await runProgram(process.execPath, [cli, ...args]);
      expect(output).toMatch(message);
      expect(code).toBe(2);
    });
  }
});
