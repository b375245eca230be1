import { createServer, type Server as HttpServer, type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { SignalErrorCode } from "../protocol/errors.js";
import {
  type ClientMessage,
  type Hello,
  type IceServer,
  type Member,
  PROTOCOL_VERSION,
  type ServerMessage,
} from "../protocol/messages.js";
import { type Authenticate, type Grant, grantProblem, openAccess, tokenAuthenticator } from "./auth.js";
import { newCounters, type SignalServerCounters } from "./counters.js";
import { type Connection, FrameIntake } from "./intake.js";
import { LocalNode } from "./local-node.js";
import { validateOptions } from "./options.js";
import { type ClusterHost, RedisCluster } from "./redis/cluster.js";
import { MemoryRoomStore, type RoomStore } from "./rooms.js";
import { SendBatcher } from "./send-batcher.js";
import { type TurnCredentialOptions, turnIceServers } from "./turn-credentials.js";

export interface SignalServerOptions {
  /** Largest accepted frame in bytes; larger ones get MESSAGE_TOO_LARGE and the connection closes. Default 64 KiB. */
  maxMessageBytes?: number;
  /** Messages per second per connection (bursts of twice that). Default 50. */
  messagesPerSecond?: number;
  /** Rooms one session may be in at once. Default 16. */
  roomsPerConnection?: number;
  /** Members per room. Default 50. */
  roomCapacity?: number;
  /** How long a dropped session can be resumed. Default 30 s. */
  resumeWindowMs?: number;
  /**
   * Messages (and bytes) kept per session for resume. Default 256 messages, 1 MiB. With `redis`, the bound is the
   * message count alone (each message is at most `maxMessageBytes`): Redis trims by count on the append itself.
   */
  outboxMessages?: number;
  outboxBytes?: number;
  /** WebSocket ping interval; a connection that misses two pongs is closed. Default 15 s. */
  heartbeatMs?: number;
  /** A connection that sends no hello in this time is closed. Default 10 s. */
  helloTimeoutMs?: number;
  /**
   * Allowed Origin header values: browser pages from other origins are refused at the upgrade with 403. Clients that
   * send no Origin (bots, servers) pass to authentication. Default: any origin.
   */
  allowedOrigins?: string[];
  /** Token → Grant hook. Overrides `tokenSecret`. Default: anyone may join any room. */
  authenticate?: Authenticate;
  /** Secret for the built-in HS256 tokens (see `signToken`). */
  tokenSecret?: string;
  /** TURN REST secret and URLs: each session's welcome carries ephemeral credentials, refreshed before expiry. */
  turn?: TurnCredentialOptions;
  /** ICE servers to hand out as they are (e.g. public STUN), in addition to the TURN ones. */
  iceServers?: IceServer[];
  /** Where rooms live. Default in memory. */
  store?: RoomStore;
  /** Called when the room store fails while a session ends (its requests get an error; this has no requester). */
  onStoreError?: (err: Error) => void;
  /** How long close() waits for queued messages to drain before cutting connections. Default 2 s. */
  drainMs?: number;
  /**
   * Share sessions and rooms with every node that names the same Redis ("redis://host:port", or with a key prefix
   * other than "parley:"): members on different nodes see each other, and a client resumes on any node. Without it,
   * one process in memory. README, "Running several nodes".
   */
  redis?: string | { url: string; prefix?: string };
}

/** A session whose TURN credentials are refreshed while it has a socket. */
interface IceHolder {
  grant: Grant;
  readonly socket: WebSocket | undefined;
  iceTimer: NodeJS.Timeout | undefined;
}

type Limits = Required<
  Pick<
    SignalServerOptions,
    | "maxMessageBytes"
    | "messagesPerSecond"
    | "roomsPerConnection"
    | "roomCapacity"
    | "resumeWindowMs"
    | "outboxMessages"
    | "outboxBytes"
    | "heartbeatMs"
    | "helloTimeoutMs"
    | "drainMs"
  >
>;

/**
 * The signalling server. `listen()` runs it standalone; `attach(httpServer, path)` shares an existing server;
 * `handleUpgrade()` takes upgrades handed over by Express, Fastify or Koa.
 */
export class SignalServer {
  readonly limits: Limits;
  readonly counters: SignalServerCounters = newCounters();
  private readonly wss: WebSocketServer;
  private readonly store: RoomStore;
  private readonly authenticate: Authenticate;
  private readonly batcher = new SendBatcher();
  private readonly intake: FrameIntake;
  private readonly connections = new Set<Connection>();
  private readonly heartbeat: NodeJS.Timeout;
  private httpServer: HttpServer | undefined;
  private closing = false;
  /** Sessions and rooms in Redis (the `redis` option); undefined: in this process. */
  private readonly cluster: RedisCluster | undefined;
  /** Where sessions and rooms live: Redis, or this process. Both answer the same requests. */
  private readonly backend: RedisCluster | LocalNode;

  constructor(private readonly options: SignalServerOptions = {}) {
    validateOptions(options);
    this.limits = {
      maxMessageBytes: options.maxMessageBytes ?? 64 * 1024,
      messagesPerSecond: options.messagesPerSecond ?? 50,
      roomsPerConnection: options.roomsPerConnection ?? 16,
      roomCapacity: options.roomCapacity ?? 50,
      resumeWindowMs: options.resumeWindowMs ?? 30_000,
      outboxMessages: options.outboxMessages ?? 256,
      outboxBytes: options.outboxBytes ?? 1024 * 1024,
      heartbeatMs: options.heartbeatMs ?? 15_000,
      helloTimeoutMs: options.helloTimeoutMs ?? 10_000,
      drainMs: options.drainMs ?? 2000,
    };
    this.store = options.store ?? new MemoryRoomStore();
    this.authenticate =
      options.authenticate ?? (options.tokenSecret ? tokenAuthenticator(options.tokenSecret) : openAccess);
    // ws cuts frames beyond maxPayload with a bare 1009 before we see them. Up to 4× the limit a frame reaches admit(),
    // which answers MESSAGE_TOO_LARGE and then closes; beyond that, holding the frame would cost too much memory.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.limits.maxMessageBytes * 4 });
    this.wss.on("connection", (socket: WebSocket, request: IncomingMessage | undefined) =>
      this.onConnection(socket, request),
    );
    this.intake = new FrameIntake({
      limits: this.limits,
      counters: this.counters,
      batcher: this.batcher,
      fail: (conn, re, code, message) => this.fail(conn, re, code, message),
      handle: (conn, msg, re) => this.onMessage(conn, msg, re),
    });
    this.heartbeat = setInterval(() => this.beat(), this.limits.heartbeatMs);
    this.heartbeat.unref();
    if (options.redis !== undefined) {
      const { url, prefix } = typeof options.redis === "string" ? { url: options.redis } : options.redis;
      this.cluster = new RedisCluster(url, prefix ?? "parley:", this.backendHost());
    }
    this.backend = this.cluster ?? this.localNode();
  }

  /** Resolves when the server can serve sessions: at once in memory; with Redis, once connected (false on timeout). */
  ready(timeoutMs = 5000): Promise<boolean> {
    return this.cluster ? this.cluster.ready(timeoutMs) : Promise.resolve(true);
  }

  /** With Redis: whether it can be reached now. In memory: always true. */
  get storeAvailable(): boolean {
    return this.cluster?.available ?? true;
  }

  /** This node's name in Redis (cluster mode), for logs and metrics. */
  get node(): string | undefined {
    return this.cluster?.node;
  }

  /** A hello's token → a grant, or why it is refused (the hook's own error, or what grantProblem finds). */
  private async grantFor(token: string | undefined, conn: object): Promise<Grant | string> {
    const c = conn as Connection;
    let grant: Grant | string;
    try {
      grant = await this.authenticate(token, c.request);
      // The upgrade request (headers, a parser) is only for the hook; holding it would cost each idle connection KBs.
      c.request = undefined;
    } catch (err) {
      grant = `authentication failed: ${(err as Error).message}`;
    }
    return typeof grant === "string" ? grant : (grantProblem(grant) ?? grant);
  }

  /** Sessions and rooms in this process: what the cluster gets, and the batcher, the store and the closing flag. */
  private localNode(): LocalNode {
    const server = this;
    return new LocalNode({
      ...this.backendHost(),
      limits: this.limits,
      batcher: this.batcher,
      store: this.store,
      get closing() {
        return server.closing;
      },
      welcome: (re, session, rooms, resumed) => this.welcome(re, session, resumed, rooms),
      startIceRefresh: (session) => this.scheduleIceRefresh(session),
    });
  }

  /** What a backend (RedisCluster, LocalNode) needs from the server that owns the sockets. */
  private backendHost(): ClusterHost {
    return {
      limits: this.limits,
      counters: this.counters,
      authenticate: (token, conn) => this.grantFor(token, conn),
      welcome: (re, session, rooms, resumed) => this.welcome(re, session, resumed, rooms),
      startIceRefresh: (session) => this.scheduleIceRefresh(session),
      send: (socket, text) => this.batcher.send(socket, text),
      fail: (conn, re, code, message) => this.fail(conn as Connection, re, code, message),
      closeAfterFlush: (socket, code, reason) => this.batcher.closeAfterFlush(socket, code, reason),
      onError: (err) => this.options.onStoreError?.(err),
    };
  }

  /** Starts a standalone HTTP server for WebSocket upgrades on any path. Resolves with its port. */
  async listen(port = 0, host = "127.0.0.1"): Promise<number> {
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

  /** Serves WebSocket upgrades arriving on an existing http.Server, at `path` (default: every path). */
  attach(server: HttpServer, path?: string): void {
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (path && new URL(req.url ?? "/", "http://x").pathname !== path) return; // someone else's upgrade
      this.handleUpgrade(req, socket, head);
    });
  }

  /** Takes over one upgrade request (for frameworks that hand them out). Refuses disallowed origins with 403. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const origin = req.headers.origin;
    const allowed = this.options.allowedOrigins;
    // Only browsers send Origin, and only they need this check (a cross-site page riding a user's cookies); other
    // clients can claim any Origin, so a missing one is let through to authentication like any non-browser client.
    if (this.closing || (allowed && origin !== undefined && !allowed.includes(origin))) {
      const status = this.closing ? "503 Service Unavailable" : "403 Forbidden";
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit("connection", ws, req));
  }

  /** Rooms with members, when the store can tell (the in-memory one can); undefined otherwise. */
  get roomCount(): number | undefined {
    if (this.cluster) return undefined; // in Redis, shared: see rooms()
    const size = (this.store as { size?: unknown }).size;
    return typeof size === "number" ? size : undefined;
  }

  // ---- operations (the admin API, or an embedding app) -------------------------------------------------------------

  /** Rooms with members (on every node, with Redis), and how many each has. */
  rooms(): Promise<Array<{ room: string; members: number }>> {
    return this.backend.rooms();
  }

  /** The members of `room` with their metadata (empty when nobody is in it). */
  roomMembers(room: string): Promise<Member[]> {
    return this.backend.roomMembers(room);
  }

  /**
   * Ends a member's session for good: its connection is closed (4003), it cannot resume, and its rooms see
   * member-left. False when there is no such session.
   */
  kick(memberId: string): Promise<boolean> {
    return this.backend.kick(memberId);
  }

  /** Removes everyone from `room`: each member gets `removed` and keeps its session. Resolves with how many. */
  closeRoom(room: string): Promise<number> {
    return this.backend.closeRoom(room);
  }

  /** Open WebSocket connections (a detached session has none). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Live sessions (attached or within their resume window). */
  get sessionCount(): number {
    return this.backend.sessionCount;
  }

  /**
   * Graceful shutdown: refuses new connections, tells every client `bye`, lets queued messages drain (up to
   * `drainMs`), then closes with 1001. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.heartbeat);
    for (const conn of this.connections) this.send(conn.socket, { type: "bye", reason: "server shutting down" });
    this.batcher.flush();
    // With Redis, every session is left resumable for its client's next node before the sockets close.
    await this.cluster?.close();
    const deadline = Date.now() + this.limits.drainMs;
    while (Date.now() < deadline && [...this.connections].some((c) => c.socket.bufferedAmount > 0)) {
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const conn of this.connections) {
      clearTimeout(conn.helloTimer);
      this.batcher.closeAfterFlush(conn.socket, 1001, "server shutting down");
    }
    if (this.backend instanceof LocalNode) this.backend.close();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    // Sockets that do not finish the close handshake promptly are cut.
    setTimeout(() => {
      for (const c of this.connections) c.socket.terminate();
    }, 1000).unref();
    const server = this.httpServer;
    this.httpServer = undefined;
    if (server) {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  // ---- connections ------------------------------------------------------------------------------------------------

  private onConnection(socket: WebSocket, request: IncomingMessage | undefined): void {
    const conn = this.intake.newConnection(socket, request);
    this.connections.add(conn);
    conn.helloTimer = setTimeout(() => {
      this.fail(conn, undefined, SignalErrorCode.HelloRequired, `no hello within ${this.limits.helloTimeoutMs} ms`);
      this.batcher.closeAfterFlush(socket, 1008, "no hello");
    }, this.limits.helloTimeoutMs);
    socket.on("pong", () => {
      conn.alive = true;
    });
    socket.on("message", (data, isBinary) => this.intake.receive(conn, data as Buffer | Buffer[], isBinary));
    socket.on("error", () => {});
    socket.on("close", (code: number) => {
      clearTimeout(conn.helloTimer);
      this.connections.delete(conn);
      // A clean close (1000, or 1001 when a page unloads) means the client is done: end the session now, so the room
      // hears member-left at once. Anything else may be a network drop: keep the session for the resume window.
      this.backend.onClose(conn, (code === 1000 || code === 1001) && !this.closing);
    });
  }

  private beat(): void {
    for (const conn of this.connections) {
      if (!conn.alive) {
        conn.socket.terminate(); // missed a whole interval: dead peer, the session's resume window starts
        continue;
      }
      conn.alive = false;
      conn.socket.ping();
    }
  }

  /** A valid message from a client (FrameIntake has checked, ordered and parsed it). */
  private onMessage(conn: Connection, msg: ClientMessage, re: string | undefined): void | Promise<void> {
    if (msg.type === "hello") return this.onHello(conn, msg);
    if (!this.backend.holds(conn)) {
      this.fail(conn, re, SignalErrorCode.HelloRequired, `"${msg.type}" before hello`);
      return;
    }
    return this.backend.message(conn, conn.socket, msg);
  }

  private async onHello(conn: Connection, msg: Hello): Promise<void> {
    if (this.backend.holds(conn)) {
      this.fail(conn, msg.id, SignalErrorCode.AlreadyGreeted, "this connection already has a session");
      return;
    }
    if (msg.version !== PROTOCOL_VERSION) {
      this.fail(
        conn,
        msg.id,
        SignalErrorCode.UnsupportedVersion,
        `protocol version ${msg.version} is not supported; this server speaks ${PROTOCOL_VERSION}`,
      );
      return;
    }
    await this.backend.hello(conn, conn.socket, msg);
    if (this.backend.holds(conn)) clearTimeout(conn.helloTimer);
  }

  // ---- sessions ---------------------------------------------------------------------------------------------------

  private iceServersFor(session: { grant: Grant }): IceServer[] {
    const turn = this.options.turn ? turnIceServers(this.options.turn, session.grant.identity) : [];
    return [...(this.options.iceServers ?? []), ...turn];
  }

  /** Sends fresh TURN credentials at 80 % of their lifetime, so a long call never holds expired ones. */
  private scheduleIceRefresh(session: IceHolder): void {
    if (!this.options.turn) return;
    clearTimeout(session.iceTimer);
    const ttlMs = (this.options.turn.ttlSeconds ?? 3600) * 1000;
    session.iceTimer = setTimeout(() => {
      if (session.socket) this.send(session.socket, { type: "ice-servers", iceServers: this.iceServersFor(session) });
      this.scheduleIceRefresh(session);
    }, ttlMs * 0.8);
    session.iceTimer.unref();
  }

  private welcome(
    re: string,
    session: { id: string; resumeToken: string; grant: Grant },
    resumed: boolean,
    rooms: string[],
  ): ServerMessage {
    return {
      type: "welcome",
      re,
      version: PROTOCOL_VERSION,
      sessionId: session.id,
      resumeToken: session.resumeToken,
      resumed,
      rooms,
      iceServers: this.iceServersFor(session),
      limits: {
        maxMessageBytes: this.limits.maxMessageBytes,
        messagesPerSecond: this.limits.messagesPerSecond,
        roomsPerConnection: this.limits.roomsPerConnection,
        resumeWindowMs: this.limits.resumeWindowMs,
      },
    };
  }

  private send(socket: WebSocket, msg: ServerMessage): void {
    this.batcher.send(socket, JSON.stringify(msg));
  }

  private fail(conn: Connection, re: string | undefined, code: SignalErrorCode, message: string): void {
    this.counters.errors[code] = (this.counters.errors[code] ?? 0) + 1;
    this.send(conn.socket, re ? { type: "error", re, code, message } : { type: "error", code, message });
  }
}

export function createSignalServer(options: SignalServerOptions = {}): SignalServer {
  return new SignalServer(options);
}
