import { EventEmitter } from "eventemitter3";
import * as v from "valibot";
import { SignalError, SignalErrorCode } from "../protocol/errors.js";
import {
  type BroadcastMessage,
  describeIssues,
  type IceServer,
  type Joined,
  type Member,
  PROTOCOL_VERSION,
  type ServerMessage,
  ServerMessageSchema,
  type SignalKind,
  type SignalMessage,
  type Welcome,
} from "../protocol/messages.js";
import { backoffDelay, type ReconnectOptions } from "./backoff.js";
import { Requests } from "./requests.js";
import { type OpenFailure, openSocket, type Socket, type WebSocketConstructor } from "./socket.js";

/** Processed messages are acknowledged (`received`) every this many, or ACK_DELAY_MS after the last one. */
const ACK_EVERY = 32;
const ACK_DELAY_MS = 1000;

/** Where to connect: one URL, several (failover in order), or a function asked on every (re)connect. */
export type SignalUrl = string | readonly string[] | (() => string | Promise<string>);

export interface SignalClientOptions {
  /**
   * The hello token, or a function called on every connect and reconnect (so a client can fetch a fresh JWT: a
   * resume past the session's token expiry needs one).
   */
  token?: string | (() => string | Promise<string>);
  /** How long a request waits for its answer (queued time included). Default 10 s. */
  requestTimeoutMs?: number;
  /** Reconnect with backoff and resume the session after an unexpected drop. `false` turns it off. */
  reconnect?: ReconnectOptions | false;
  /** Client-side ping interval; a ping unanswered within the same interval counts the connection dead. Default 10 s. */
  heartbeatMs?: number;
  /**
   * Requests waiting for a connection (while reconnecting) or for the server's store (after UNAVAILABLE). Beyond this,
   * new requests fail with QUEUE_FULL. Default 256.
   */
  maxQueued?: number;
  /** A WebSocket implementation, for Node 20 without the `ws` package resolvable, or for tests. */
  WebSocket?: WebSocketConstructor;
  /** Protocol version to announce; only tests of version negotiation change it. */
  version?: number;
}

export interface RoomState {
  room: string;
  /** Our own member id in the room (the session id). */
  self: string;
  /** The other members, kept current by member-joined/member-left. */
  members: Map<string, Member>;
  metadata: Record<string, unknown> | undefined;
}

export interface SignalClientEvents {
  /** Every welcome: the first, and each one after a reconnect (resumed or not). */
  welcome: (welcome: Welcome) => void;
  "member-joined": (room: string, member: Member) => void;
  "member-left": (room: string, memberId: string) => void;
  /** A member joined again with new metadata. */
  "member-updated": (room: string, member: Member) => void;
  /** An operator removed us from a room (closed it); the session goes on. */
  removed: (room: string, reason: string) => void;
  signal: (message: SignalMessage) => void;
  broadcast: (message: BroadcastMessage) => void;
  /** Fresh ICE servers (TURN credentials are refreshed before they expire). */
  "ice-servers": (iceServers: IceServer[]) => void;
  /** The connection dropped; the client will try again after `delayMs`. */
  reconnecting: (attempt: number, delayMs: number, reason: string) => void;
  /** Back on the same session: same member id, same rooms, every missed message delivered. */
  resumed: (welcome: Welcome) => void;
  /**
   * The old session could not be resumed (window or outbox exceeded): this is a new session with a new member id,
   * and the client has joined its rooms again. Peers must treat it as a new participant.
   */
  "session-replaced": (previousSessionId: string, welcome: Welcome) => void;
  /** An error not tied to a request of ours (rate limit warnings, a bad frame from the server). */
  error: (err: SignalError) => void;
  /** The client is closed for good: by `close()`, by the server refusing us, or after giving up reconnecting. */
  close: (reason: SignalError | undefined) => void;
}

type State = "connecting" | "open" | "reconnecting" | "closed";

/** Errors after which reconnecting cannot help. */
const FATAL = new Set<string>([SignalErrorCode.Unauthorized, SignalErrorCode.UnsupportedVersion]);

/**
 * One signalling connection for Node and browsers. Requests are promises answered by id; messages addressed to us
 * carry `seq`, which the client tracks so a resumed session sees each exactly once. When the connection drops, the
 * client reconnects with backoff and jitter, resumes, and re-sends requests whose answers it never saw.
 */
export class SignalClient extends EventEmitter<SignalClientEvents> {
  private socket: Socket | undefined;
  private state: State = "connecting";
  private welcomeMessage: Welcome | undefined;
  private lastSeq = 0;
  /** The highest seq acknowledged to the server with `received`. */
  private ackedSeq = 0;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private readonly requests = new Requests({
    send: (text) => this.socket?.send(text),
    open: () => this.state === "open" && this.socket !== undefined,
    rate: () => this.welcomeMessage?.limits.messagesPerSecond ?? 50,
  });
  private readonly joinedRooms = new Map<string, RoomState>();
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly options: Required<Pick<SignalClientOptions, "requestTimeoutMs" | "heartbeatMs" | "maxQueued">> &
    SignalClientOptions;

  /** The server URL in use (or last tried). */
  url = "";
  /** Index into a URL list: the one to try next. */
  private urlIndex = 0;

  private constructor(
    private readonly urls: SignalUrl,
    options: SignalClientOptions,
  ) {
    super();
    this.options = { requestTimeoutMs: 10_000, heartbeatMs: 10_000, maxQueued: 256, ...options };
  }

  /**
   * Opens the connection and completes hello/welcome. `url` may be a list (tried in turn; on reconnect the client
   * stays on the server it had and moves to the next when that one cannot be reached) or a function called for
   * every attempt. Rejects (CONNECT_FAILED, UNAUTHORIZED…) once every URL of a list has failed, without retrying.
   */
  static async connect(url: SignalUrl, options: SignalClientOptions = {}): Promise<SignalClient> {
    if (Array.isArray(url) && (url.length === 0 || url.some((u) => typeof u !== "string" || u.length === 0)))
      throw new SignalError(
        SignalErrorCode.InvalidOption,
        "url must be a URL, a non-empty list of URLs, or a function",
      );
    const client = new SignalClient(url, options);
    const tries = Array.isArray(url) ? url.length : 1;
    for (let i = 0; ; i++) {
      try {
        await client.open();
        return client;
      } catch (err) {
        const last = i + 1 >= tries || (err instanceof SignalError && FATAL.has(err.code));
        if (last) {
          client.shutdown(err as SignalError);
          throw err;
        }
      }
    }
  }

  /** The URL for this attempt; a failed attempt on a list moves to the next entry (see `open`). */
  private async nextUrl(): Promise<string> {
    const { urls } = this;
    if (typeof urls === "string") return urls;
    if (typeof urls === "function") return urls();
    return urls[this.urlIndex % urls.length]!;
  }

  /** The latest welcome: session id, ICE servers, the server's limits. */
  get welcome(): Welcome {
    if (!this.welcomeMessage) throw new SignalError(SignalErrorCode.Closed, "not connected yet");
    return this.welcomeMessage;
  }

  /** Our member id (changes only on `session-replaced`). */
  get sessionId(): string {
    return this.welcome.sessionId;
  }

  get connected(): boolean {
    return this.state === "open";
  }

  /** Rooms we are in, with their current members. */
  get rooms(): ReadonlyMap<string, RoomState> {
    return this.joinedRooms;
  }

  async join(room: string, metadata?: Record<string, unknown>): Promise<RoomState> {
    const joined = (await this.request({ type: "join", room, ...(metadata ? { metadata } : {}) })) as Joined;
    const state: RoomState = {
      room,
      self: joined.self,
      members: new Map(joined.members.map((m) => [m.id, m])),
      metadata,
    };
    this.joinedRooms.set(room, state);
    return state;
  }

  async leave(room: string): Promise<void> {
    await this.request({ type: "leave", room });
    this.joinedRooms.delete(room);
  }

  /** Sends offer/answer/candidate/… to one member. Resolves when the server has accepted it for delivery. */
  async signal(room: string, to: string, kind: SignalKind, payload: unknown): Promise<void> {
    await this.request({ type: "signal", room, to, kind, payload });
  }

  /** Sends `payload` to every other member of the room. */
  async broadcast(room: string, payload: unknown): Promise<void> {
    await this.request({ type: "broadcast", room, payload });
  }

  /** Round trip to the server, in milliseconds. */
  async ping(): Promise<number> {
    const started = Date.now();
    await this.request({ type: "ping" });
    return Date.now() - started;
  }

  /** Closes for good: no reconnect, pending requests fail with CLOSED. Safe to call twice. */
  close(): void {
    this.shutdown(undefined);
  }

  // ---- connection -------------------------------------------------------------------------------------------------

  private async open(): Promise<void> {
    let socket: Socket;
    try {
      this.url = await this.nextUrl();
      socket = await openSocket(this.url, this.options.WebSocket, (created) => {
        this.socket = created;
      });
    } catch (err) {
      // This server cannot be reached: the next attempt goes to the next URL of the list (failover).
      this.urlIndex++;
      const failure = err as OpenFailure | Error;
      throw new SignalError(
        SignalErrorCode.ConnectFailed,
        failure instanceof Error
          ? `cannot open WebSocket to ${this.url}: ${failure.message}`
          : failure.kind === "close"
            ? `WebSocket to ${this.url} closed (${failure.code}) while opening`
            : `cannot open WebSocket to ${this.url}`,
      );
    }
    socket.onmessage = (ev) => {
      if (socket === this.socket) this.onText(String(ev.data));
    };
    socket.onerror = () => {};
    socket.onclose = (ev) => {
      if (socket !== this.socket) return;
      const why = `closed by server (${ev.code}${ev.reason ? ` ${ev.reason}` : ""})`;
      // 4001: the session moved to another connection; 4003: an operator ended it. Reconnecting would be wrong.
      if (ev.code === 4001 || ev.code === 4003) this.shutdown(new SignalError(SignalErrorCode.Closed, why));
      else this.onDrop(why);
    };
    const previous = this.welcomeMessage;
    const hello: Record<string, unknown> = { type: "hello", version: this.options.version ?? PROTOCOL_VERSION };
    const token = typeof this.options.token === "function" ? await this.options.token() : this.options.token;
    if (token) hello.token = token;
    if (previous) {
      hello.resume = { sessionId: previous.sessionId, resumeToken: previous.resumeToken, lastSeq: this.lastSeq };
    }
    let welcome: Welcome;
    try {
      welcome = (await this.exchange(hello)) as Welcome;
    } catch (err) {
      if (!(previous && err instanceof SignalError && err.code === SignalErrorCode.SessionExpired)) {
        // Refused (UNAVAILABLE, a timeout…): this socket has no session; the next attempt opens a new one.
        if (socket === this.socket && err instanceof SignalError && err.code !== SignalErrorCode.Unauthorized) {
          this.socket = undefined;
          socket.close(1000, "hello refused");
        }
        throw err;
      }
      delete hello.resume;
      welcome = (await this.exchange(hello)) as Welcome;
      await this.replaceSession(previous, welcome);
      return;
    }
    this.welcomeMessage = welcome;
    this.state = "open";
    this.attempt = 0;
    this.startHeartbeat();
    this.emit("welcome", welcome);
    if (welcome.resumed) this.emit("resumed", welcome);
    // Requests whose answers were lost with the old socket go again; the server answers repeats from its cache.
    this.requests.requeueAll();
  }

  /** A new session after a failed resume: requests for the old one fail, rooms are joined again. */
  private async replaceSession(previous: Welcome, welcome: Welcome): Promise<void> {
    this.welcomeMessage = welcome;
    this.lastSeq = 0;
    this.ackedSeq = 0;
    this.requests.failSent();
    this.state = "open";
    this.attempt = 0;
    this.startHeartbeat();
    this.emit("welcome", welcome);
    const rooms = [...this.joinedRooms.values()];
    this.joinedRooms.clear();
    this.requests.requeueAll();
    for (const room of rooms) {
      try {
        await this.join(room.room, room.metadata);
      } catch (err) {
        this.emit("error", err as SignalError);
      }
    }
    this.emit("session-replaced", previous.sessionId, welcome);
  }

  /**
   * Tells the server which messages were processed (`received`), so it need not keep them for a resume: without
   * this, a long session's outbox fills with delivered messages and a blip after the bound costs the session.
   */
  private acknowledge(): void {
    if (this.lastSeq - this.ackedSeq >= ACK_EVERY) this.sendAck();
    else
      this.ackTimer ??= setTimeout(() => {
        this.ackTimer = undefined;
        this.sendAck();
      }, ACK_DELAY_MS);
  }

  private sendAck(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.state !== "open" || !this.socket || this.lastSeq <= this.ackedSeq) return;
    this.socket.send(JSON.stringify({ type: "received", seq: this.lastSeq }));
    this.ackedSeq = this.lastSeq;
    this.requests.spendToken(); // a frame like any other against the server's rate
  }

  /** The socket is gone: reconnect (with backoff and jitter) unless we are closing or told not to. */
  private onDrop(reason: string): void {
    this.stopHeartbeat();
    this.requests.stopSending();
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.socket = undefined;
    if (this.state === "closed") return;
    const options = this.options.reconnect;
    if (options === false) {
      this.shutdown(new SignalError(SignalErrorCode.Closed, `connection lost: ${reason}`));
      return;
    }
    const delay = backoffDelay(this.attempt, options);
    if (delay === undefined) {
      this.shutdown(
        new SignalError(
          SignalErrorCode.ConnectFailed,
          `gave up reconnecting after ${this.attempt} attempts: ${reason}`,
        ),
      );
      return;
    }
    this.attempt++;
    this.state = "reconnecting";
    // Answers to requests already sent may never come; they are re-sent on resume, so their marks are kept.
    this.emit("reconnecting", this.attempt, delay, reason);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.open().catch((err: SignalError) => {
        if (FATAL.has(err.code)) this.shutdown(err);
        else if (this.state !== "closed") this.onDrop(err.message);
      });
    }, delay);
  }

  private shutdown(reason: SignalError | undefined): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.stopHeartbeat();
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.ackTimer);
    const socket = this.socket;
    this.socket = undefined;
    if (socket && socket.readyState <= 1) socket.close(1000, "client closed");
    this.requests.rejectAll(reason ?? new SignalError(SignalErrorCode.Closed, "client closed"));
    this.emit("close", reason);
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    const interval = this.options.heartbeatMs;
    this.heartbeatTimer = setInterval(() => {
      const socket = this.socket;
      this.exchange({ type: "ping" }, interval).catch(() => {
        // No pong in a whole interval: the path is dead even if TCP has not noticed. Drop and reconnect.
        if (socket && socket === this.socket) {
          socket.close(4000, "heartbeat timeout");
          this.onDrop("no pong from server");
        }
      });
    }, interval);
    (this.heartbeatTimer as { unref?: () => void }).unref?.();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  // ---- requests ---------------------------------------------------------------------------------------------------

  /** A request that is part of the session: queued while reconnecting, re-sent after a resume. */
  private request(body: Record<string, unknown>): Promise<ServerMessage> {
    if (this.state === "closed") return Promise.reject(new SignalError(SignalErrorCode.Closed, "client is closed"));
    if ((this.state !== "open" || this.requests.waitingToRetry) && this.requests.size >= this.options.maxQueued) {
      return Promise.reject(
        new SignalError(SignalErrorCode.QueueFull, `${this.requests.size} requests already wait for a connection`),
      );
    }
    return this.requests.session(body, this.options.requestTimeoutMs);
  }

  /** A request on the current socket only (hello, heartbeat ping): not queued, not re-sent. */
  private exchange(body: Record<string, unknown>, timeoutMs = this.options.requestTimeoutMs): Promise<ServerMessage> {
    return this.requests.oneShot(body, timeoutMs);
  }

  // ---- incoming ---------------------------------------------------------------------------------------------------

  private onText(text: string): void {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.emit("error", new SignalError(SignalErrorCode.BadJson, "server sent a frame that is not JSON"));
      return;
    }
    const parsed = v.safeParse(ServerMessageSchema, json);
    if (!parsed.success) {
      this.emit("error", new SignalError(SignalErrorCode.BadMessage, `server sent ${describeIssues(parsed.issues)}`));
      return;
    }
    const msg = parsed.output;
    if ("seq" in msg) {
      // Exactly once: a replay after resume may repeat what we already have.
      if (msg.seq <= this.lastSeq) return;
      this.lastSeq = msg.seq;
      // Handlers run synchronously below, so by the next turn this message is processed.
      queueMicrotask(() => this.acknowledge());
    }
    switch (msg.type) {
      case "error": {
        const err = new SignalError(msg.code as SignalErrorCode, msg.message, msg.re);
        if (msg.code === SignalErrorCode.Unavailable && msg.re && this.requests.scheduleRetry(msg.re)) return;
        if (!msg.re || !this.requests.refused(msg.re, err)) this.emit("error", err);
        return;
      }
      case "member-joined":
        this.joinedRooms.get(msg.room)?.members.set(msg.member.id, msg.member);
        this.emit("member-joined", msg.room, msg.member);
        return;
      case "member-left":
        this.joinedRooms.get(msg.room)?.members.delete(msg.memberId);
        this.emit("member-left", msg.room, msg.memberId);
        return;
      case "member-updated":
        this.joinedRooms.get(msg.room)?.members.set(msg.member.id, msg.member);
        this.emit("member-updated", msg.room, msg.member);
        return;
      case "removed":
        // Not joined again after a reconnect: an operator took us out.
        this.joinedRooms.delete(msg.room);
        this.emit("removed", msg.room, msg.reason);
        return;
      case "signal":
        this.emit("signal", msg);
        return;
      case "broadcast":
        this.emit("broadcast", msg);
        return;
      case "ice-servers":
        if (this.welcomeMessage) this.welcomeMessage = { ...this.welcomeMessage, iceServers: msg.iceServers };
        this.emit("ice-servers", msg.iceServers);
        return;
      case "bye":
        // The server is going away (deploy, restart): treat it as a drop, so we come back to its successor.
        this.socket?.close(1000, "bye");
        this.onDrop(`server said bye: ${msg.reason}`);
        return;
      default:
        this.requests.answered(msg.re, msg);
    }
  }
}
