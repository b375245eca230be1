import { randomUUID } from "node:crypto";
import type { Server as HttpServer, IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import * as v from "valibot";
import { type WebSocket, WebSocketServer } from "ws";
import { SignalErrorCode } from "../protocol/errors.js";
import { ClientMessageSchema, describeIssues, PROTOCOL_VERSION, type ServerMessage } from "../protocol/messages.js";

export interface SignalServerOptions {
  /** Largest accepted frame in bytes; larger ones get MESSAGE_TOO_LARGE and the connection closes. Default 64 KiB. */
  maxMessageBytes?: number;
}

/**
 * The signalling server. `listen()` runs it standalone; `attach()` shares an existing http.Server; `handleUpgrade()`
 * takes upgrades from a framework. This foundation speaks hello/welcome; rooms arrive with issue #4.
 */
export class SignalServer {
  private readonly wss: WebSocketServer;
  private readonly maxMessageBytes: number;
  private httpServer: HttpServer | undefined;

  constructor(options: SignalServerOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? 64 * 1024;
    // ws enforces maxPayload itself (closing with 1009); we check below first so the client hears why.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.maxMessageBytes + 1024 });
    this.wss.on("connection", (socket) => this.onConnection(socket));
  }

  /** Starts a standalone HTTP server for WebSocket upgrades. Resolves with its port. */
  async listen(port = 0, host = "127.0.0.1"): Promise<number> {
    const { createServer } = await import("node:http");
    const server = createServer((_req, res) => {
      res.writeHead(426, { "content-type": "text/plain" }).end("WebSocket upgrade required\n");
    });
    this.attach(server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    this.httpServer = server;
    const address = server.address();
    return typeof address === "object" && address ? address.port : port;
  }

  /** Serves WebSocket upgrades arriving on an existing http.Server. */
  attach(server: HttpServer): void {
    server.on("upgrade", (req, socket, head) => this.handleUpgrade(req, socket, head));
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit("connection", ws, req));
  }

  /** Closes every connection (code 1001, going away) and the standalone server if any. Safe to call twice. */
  async close(): Promise<void> {
    for (const client of this.wss.clients) client.close(1001, "server shutting down");
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    const server = this.httpServer;
    this.httpServer = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private onConnection(socket: WebSocket): void {
    let sessionId: string | undefined;
    const send = (msg: ServerMessage) => socket.send(JSON.stringify(msg));
    socket.on("message", (data, isBinary) => {
      const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
      if (size > this.maxMessageBytes) {
        send({
          type: "error",
          code: SignalErrorCode.MessageTooLarge,
          message: `frame of ${size} bytes exceeds maxMessageBytes ${this.maxMessageBytes}`,
        });
        socket.close(1009, "message too large");
        return;
      }
      if (isBinary) {
        send({ type: "error", code: SignalErrorCode.BadMessage, message: "binary frame where JSON text was expected" });
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(String(data));
      } catch (err) {
        send({ type: "error", code: SignalErrorCode.BadJson, message: `not JSON: ${(err as Error).message}` });
        return;
      }
      const parsed = v.safeParse(ClientMessageSchema, json);
      const re = typeof (json as { id?: unknown })?.id === "string" ? (json as { id: string }).id : undefined;
      if (!parsed.success) {
        send({ type: "error", re, code: SignalErrorCode.BadMessage, message: describeIssues(parsed.issues) });
        return;
      }
      const msg = parsed.output;
      if (msg.version !== PROTOCOL_VERSION) {
        send({
          type: "error",
          re: msg.id,
          code: SignalErrorCode.UnsupportedVersion,
          message: `protocol version ${msg.version} is not supported; this server speaks ${PROTOCOL_VERSION}`,
        });
        return;
      }
      sessionId ??= randomUUID();
      send({
        type: "welcome",
        re: msg.id,
        version: PROTOCOL_VERSION,
        sessionId,
        limits: { maxMessageBytes: this.maxMessageBytes },
      });
    });
  }
}

export function createSignalServer(options: SignalServerOptions = {}): SignalServer {
  return new SignalServer(options);
}
