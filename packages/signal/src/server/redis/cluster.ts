import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { WebSocket } from "ws";
import { SignalErrorCode } from "../../protocol/errors.js";
import type { ClientMessage, Hello, ServerMessage } from "../../protocol/messages.js";
import type { Grant } from "../auth.js";
import { CLOSE_KICKED, CLOSE_RESUMED_ELSEWHERE } from "../close-codes.js";
import { RedisLink, RedisUnavailable, type StreamEntry } from "./redis-link.js";
import { LOST_HOLD, PLANS, type Plan, type Script } from "./requests.js";

/** Messages a session may receive while its welcome is on the way (beyond: the connection resyncs by resume). */
const EARLY_MAX = 1024;
/**
 * Requests one connection may have at Redis at once: past this the server stops reading that socket (TCP pushes back
 * on the client) and reads on once half have been answered. No error: a fast, honest client is only slowed.
 */
const INFLIGHT_PAUSE = 256;
/** Connection ends kept for Redis while it is unreachable; beyond, the dead-node sweep covers them at shutdown. */
const UNSETTLED_MAX = 100_000;
/** Close code asking the client to reconnect and resume (RFC 6455 "service restart"). */
const CLOSE_RESYNC = 1012;

/** What the cluster needs from the server that owns the sockets. */
export interface ClusterHost {
  readonly limits: {
    resumeWindowMs: number;
    outboxMessages: number;
    roomCapacity: number;
    roomsPerConnection: number;
  };
  /** Turns a hello token into a grant, or the reason it is refused. */
  authenticate(token: string | undefined, conn: object): Promise<Grant | string>;
  welcome(re: string, session: ClusterSession, rooms: string[], resumed: boolean): ServerMessage;
  startIceRefresh(session: ClusterSession): void;
  send(socket: WebSocket, text: string): void;
  fail(conn: object, re: string | undefined, code: SignalErrorCode, message: string): void;
  closeAfterFlush(socket: WebSocket, code: number, reason: string): void;
  counters: { sessionsCreated: number; resumes: number; resumesRefused: number; outboxOverflows: number };
  onError(err: Error): void;
}

/** A session held by this node (its state proper lives in Redis). */
export interface ClusterSession {
  readonly id: string;
  /** Names the connection holding the session; Redis refuses requests from any other. */
  readonly epoch: string;
  readonly socket: WebSocket;
  grant: Grant;
  resumeToken: string;
  iceTimer: NodeJS.Timeout | undefined;
  /** The last seq sent on the socket. */
  sentThrough: number;
  /** False until the welcome is sent; messages that come earlier wait in `early`. */
  ready: boolean;
  early: Array<{ seq: number; text: string }>;
  inflight: number;
  /** Whether the client has sent a frame since its welcome (see the resume script's tp). */
  confirmed: boolean;
  /** A request that failed on Redis: later ones are refused until it is retried, so order holds (see `request`). */
  blockedOn: string | undefined;
}

const hash = (token: string) => createHash("sha256").update(token).digest("base64url");
const newToken = () => randomBytes(24).toString("base64url");

type Answer = (text: string) => void;

/**
 * Sessions and rooms in Redis, shared by every node that names the same Redis (`createSignalServer({ redis })`).
 * This node keeps only the sockets it holds; every request is one script (scripts.ts) whose answer goes back to the
 * socket, and messages for the sessions it holds arrive, numbered, on its delivery stream (redis-link.ts).
 */
export class RedisCluster {
  private readonly link: RedisLink;
  private readonly bySession = new Map<string, ClusterSession>();
  private readonly byConn = new WeakMap<object, ClusterSession>();
  /** Connection ends Redis has not heard of yet (it was unreachable), by epoch. */
  private readonly unsettled = new Map<string, { id: string; clean: boolean }>();
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    url: string,
    prefix: string,
    private readonly host: ClusterHost,
  ) {
    this.link = new RedisLink({
      url,
      prefix,
      outboxMessages: host.limits.outboxMessages,
      resumeWindowMs: host.limits.resumeWindowMs,
      onEntry: (entry) => this.onEntry(entry),
      onDeclaredDead: () => this.resyncAll("this node was taken for dead; resume to continue"),
      onError: (err) => host.onError(err),
    });
  }

  get node(): string {
    return this.link.node;
  }

  get available(): boolean {
    return this.link.available;
  }

  ready(timeoutMs: number): Promise<boolean> {
    return this.link.ready(timeoutMs);
  }

  /** Sessions this node holds. */
  get sessionCount(): number {
    return this.bySession.size;
  }

  holds(conn: object): boolean {
    const session = this.byConn.get(conn);
    return session !== undefined && this.bySession.get(session.id) === session;
  }

  // ---- hello ------------------------------------------------------------------------------------------------------

  async hello(conn: object, socket: WebSocket, msg: Hello): Promise<void> {
    const renewal = msg.resume && msg.token === undefined ? undefined : await this.host.authenticate(msg.token, conn);
    if (typeof renewal === "string") {
      if (msg.resume) this.host.counters.resumesRefused++;
      this.host.fail(conn, msg.id, SignalErrorCode.Unauthorized, renewal);
      this.host.closeAfterFlush(socket, 1008, "unauthorized");
      return;
    }
    if (socket.readyState !== socket.OPEN) return;
    if (msg.resume) return this.resume(conn, socket, msg, renewal);
    const grant = renewal!;
    const session = this.hold(conn, socket, randomUUID(), grant);
    try {
      await this.link.run(
        "create",
        session.id,
        session.epoch,
        this.link.node,
        JSON.stringify(grant),
        grant.identity,
        grant.expiresAt ?? "",
        hash(session.resumeToken),
      );
    } catch (err) {
      this.release(session);
      return this.unavailable(conn, msg.id, err);
    }
    this.host.counters.sessionsCreated++;
    this.open(msg.id, session, [], false, 0);
  }

  private async resume(conn: object, socket: WebSocket, msg: Hello, renewal: Grant | undefined): Promise<void> {
    const { sessionId, resumeToken, lastSeq } = msg.resume!;
    const previous = this.bySession.get(sessionId);
    const session = this.hold(conn, socket, sessionId, renewal ?? { identity: "", rooms: [], canBroadcast: false });
    let reply: [string, number, string?, string[]?, string[]?];
    try {
      reply = (await this.link.run(
        "resume",
        sessionId,
        hash(resumeToken),
        lastSeq,
        this.link.node,
        session.epoch,
        hash(session.resumeToken),
        renewal ? JSON.stringify(renewal) : "",
        renewal?.identity ?? "",
        renewal?.expiresAt ?? "",
      )) as typeof reply;
    } catch (err) {
      this.release(session, previous);
      return this.unavailable(conn, msg.id, err);
    }
    const [outcome, seq, grantJson, rooms, texts] = reply;
    if (outcome !== "ok") {
      this.release(session, previous);
      this.host.counters.resumesRefused++;
      const refusal = REFUSALS[outcome] ?? REFUSALS.unknown!;
      if (outcome === "lost") this.host.counters.outboxOverflows++;
      const [code, message] = refusal(lastSeq, seq, this.host.limits);
      this.host.fail(conn, msg.id, code, message);
      if (code === SignalErrorCode.Unauthorized) this.host.closeAfterFlush(socket, 1008, "unauthorized");
      return;
    }
    session.grant = JSON.parse(grantJson!) as Grant;
    this.host.counters.resumes++;
    // Resumed from this node's own other connection: that one is told, as another node's would be (by its stream).
    if (previous && previous.socket !== socket)
      this.closeHolder(previous, CLOSE_RESUMED_ELSEWHERE, "session resumed on another connection");
    session.sentThrough = lastSeq;
    this.open(msg.id, session, rooms ?? [], true, seq, texts ?? []);
  }

  /** Registers the session on this node before Redis hears of it, so no delivery for it can arrive unclaimed. */
  private hold(conn: object, socket: WebSocket, id: string, grant: Grant): ClusterSession {
    const session: ClusterSession = {
      id,
      epoch: randomUUID(),
      socket,
      grant,
      resumeToken: newToken(),
      iceTimer: undefined,
      sentThrough: 0,
      ready: false,
      early: [],
      inflight: 0,
      blockedOn: undefined,
      confirmed: false,
    };
    this.bySession.set(id, session);
    this.byConn.set(conn, session);
    return session;
  }

  private release(session: ClusterSession, previous?: ClusterSession): void {
    const early = session.early;
    session.early = [];
    clearTimeout(session.iceTimer);
    if (this.bySession.get(session.id) !== session) return;
    this.bySession.delete(session.id);
    if (!previous) return;
    // A refused resume of a session this node still holds. If the old connection is still open it keeps the session,
    // with what arrived meanwhile; if it closed during the attempt (its close was not reported, the new attempt held
    // the session), Redis is told now, or the session would stay held by this node with nobody on it.
    if (previous.socket.readyState === previous.socket.OPEN) {
      this.bySession.set(session.id, previous);
      if (previous.ready) for (const entry of early) this.deliver(previous, entry.seq, entry.text);
    } else this.settle(previous.id, previous.epoch, false);
  }

  /** Sends the welcome, then what the outbox held after lastSeq, then what arrived meanwhile, each once in order. */
  private open(
    re: string,
    session: ClusterSession,
    rooms: string[],
    resumed: boolean,
    seq: number,
    texts: string[] = [],
  ) {
    // The socket closed while Redis answered: onClose has released the session (and told Redis).
    if (this.bySession.get(session.id) !== session) return;
    this.host.send(session.socket, JSON.stringify(this.host.welcome(re, session, rooms, resumed)));
    for (const text of texts) this.host.send(session.socket, text);
    session.sentThrough = Math.max(session.sentThrough, seq);
    session.ready = true;
    const early = session.early;
    session.early = [];
    for (const entry of early) this.deliver(session, entry.seq, entry.text);
    this.host.startIceRefresh(session);
  }

  // ---- requests ---------------------------------------------------------------------------------------------------

  /** Every message after hello. Signals, joins and the rest are one script each, answered in the order sent. */
  message(conn: object, socket: WebSocket, msg: Exclude<ClientMessage, Hello>): void {
    const session = this.byConn.get(conn);
    if (!session || this.bySession.get(session.id) !== session) return; // the server checks holds() first
    const reply: Answer = (text) => {
      if (text) this.host.send(socket, text);
    };
    if (!session.confirmed) {
      session.confirmed = true;
      this.link.run("confirm", session.id, session.epoch).catch(() => {}); // unreachable: the old token lives on a bit
    }
    const planner = PLANS[msg.type] as (s: ClusterSession, m: typeof msg, l: ClusterHost["limits"]) => Plan;
    const plan = planner(session, msg, this.host.limits);
    if ("answer" in plan) reply(plan.answer);
    else if ("refuse" in plan) this.host.fail(conn, "id" in msg ? msg.id : undefined, ...plan.refuse);
    else this.request(conn, session, "id" in msg ? msg.id : undefined, reply, plan.script);
  }

  /**
   * One script on behalf of a connection. Scripts go out in order on one Redis connection, so they run in the order
   * the client sent them. When Redis cannot be reached the request is answered UNAVAILABLE (it may or may not have
   * run: its retry, with the same id, is answered from the session's answer cache if it did). Later requests are
   * then refused UNAVAILABLE too until the failed one comes back, so a retry can never overtake what followed it.
   */
  private request(
    conn: object,
    session: ClusterSession,
    id: string | undefined,
    reply: Answer,
    [name, ...args]: Script,
  ): void {
    if (session.blockedOn !== undefined) {
      if (id !== session.blockedOn) {
        if (id !== undefined) this.unavailable(conn, id, new RedisUnavailable("an earlier request is being retried"));
        return;
      }
      session.blockedOn = undefined;
    }
    if (++session.inflight === INFLIGHT_PAUSE) session.socket.pause();
    const answered = () => {
      if (--session.inflight === INFLIGHT_PAUSE / 2 && session.socket.isPaused) session.socket.resume();
    };
    this.link.run(name, ...args).then(
      (result) => {
        answered();
        const text = String(result ?? "");
        if (text.startsWith("!")) return this.lostHold(session, text);
        if (text.startsWith("ahead:")) {
          this.host.fail(
            conn,
            undefined,
            SignalErrorCode.BadMessage,
            `received.seq is ahead of the last message sent (seq ${text.slice(6)})`,
          );
          return;
        }
        reply(text);
      },
      (err: Error) => {
        answered();
        if (id === undefined) return; // an acknowledgement: the next one covers it
        session.blockedOn ??= id;
        this.unavailable(conn, id, err);
      },
    );
  }

  private unavailable(conn: object, id: string | undefined, err: unknown): void {
    if (!(err instanceof RedisUnavailable)) this.host.onError(err as Error);
    this.host.fail(conn, id, SignalErrorCode.Unavailable, "the session store (Redis) cannot be reached; retry shortly");
  }

  /** Redis says this connection no longer holds its session. */
  private lostHold(session: ClusterSession, why: string): void {
    const [code, reason] = LOST_HOLD[why] ?? [CLOSE_RESYNC, "resume to continue"];
    this.closeHolder(session, code, reason);
  }

  // ---- deliveries -------------------------------------------------------------------------------------------------

  private onEntry(entry: StreamEntry): void {
    const session = this.bySession.get(entry.session);
    if (!session) return; // moved on, or ended: the outbox has it for whoever holds it now
    if ("control" in entry) {
      if (entry.epoch !== session.epoch) return;
      const close = CONTROLS[entry.control];
      if (close) this.closeHolder(session, close[0], close[1]);
      return;
    }
    if (!session.ready) {
      if (session.early.length >= EARLY_MAX) this.closeHolder(session, CLOSE_RESYNC, "resume to continue");
      else session.early.push({ seq: entry.seq, text: entry.text });
      return;
    }
    this.deliver(session, entry.seq, entry.text);
  }

  private deliver(session: ClusterSession, seq: number, text: string): void {
    if (seq <= session.sentThrough) return; // sent already, from the outbox at resume
    if (seq !== session.sentThrough + 1) {
      // A gap (the delivery stream was trimmed while this node lagged): the outbox still has it, a resume gets it.
      this.closeHolder(session, CLOSE_RESYNC, "resume to continue");
      return;
    }
    session.sentThrough = seq;
    this.host.send(session.socket, text);
  }

  private closeHolder(session: ClusterSession, code: number, reason: string): void {
    this.release(session);
    this.host.closeAfterFlush(session.socket, code, reason);
  }

  private resyncAll(reason: string): void {
    for (const session of [...this.bySession.values()]) this.closeHolder(session, CLOSE_RESYNC, reason);
  }

  // ---- connection ends --------------------------------------------------------------------------------------------

  /**
   * The socket closed. A clean close ends the session (its rooms hear member-left at once); any other starts its
   * resume window, in Redis, so any node can take it up.
   */
  onClose(conn: object, clean: boolean): void {
    const session = this.byConn.get(conn);
    if (!session || this.bySession.get(session.id) !== session) return;
    this.release(session);
    this.settle(session.id, session.epoch, clean);
  }

  /**
   * Tells Redis a connection ended (clean: end the session; else: start its resume window). While Redis is
   * unreachable the news waits here and is retried every second: a session left "held" by a live node would never
   * expire.
   */
  private settle(id: string, epoch: string, clean: boolean): void {
    const done = clean
      ? this.link.run("end", id, epoch, "end")
      : this.link.run("detach", id, epoch, this.link.node, this.host.limits.resumeWindowMs);
    done.catch((err) => {
      if (!(err instanceof RedisUnavailable)) return this.host.onError(err as Error);
      if (this.unsettled.size < UNSETTLED_MAX) this.unsettled.set(epoch, { id, clean });
      this.retryTimer ??= setTimeout(() => this.retryUnsettled(), 1000);
      this.retryTimer.unref();
    });
  }

  private retryUnsettled(): void {
    this.retryTimer = undefined;
    const waiting = [...this.unsettled];
    this.unsettled.clear();
    for (const [epoch, { id, clean }] of waiting) this.settle(id, epoch, clean);
  }

  /** Shutdown (a deploy): every session waits for its client to resume on another node. */
  async close(): Promise<void> {
    clearTimeout(this.retryTimer);
    const window = this.host.limits.resumeWindowMs;
    await Promise.allSettled(
      [...this.bySession.values()].map((s) => {
        this.release(s);
        return this.link.run("detach", s.id, s.epoch, this.link.node, window);
      }),
    );
    await this.link.close();
  }

  // ---- operations -------------------------------------------------------------------------------------------------

  async rooms(limit = 10_000): Promise<Array<{ room: string; members: number }>> {
    const names = await this.link.roomNames(limit);
    const sizes = await Promise.all(names.map((room) => this.link.roomSize(room)));
    return names
      .map((room, i) => ({ room, members: sizes[i]! }))
      .filter((r) => r.members > 0)
      .sort((a, b) => a.room.localeCompare(b.room));
  }

  async roomMembers(room: string): Promise<Array<{ id: string; metadata?: Record<string, unknown> }>> {
    return (await this.link.roomMembers(room)).map((text) => JSON.parse(text));
  }

  async kick(memberId: string): Promise<boolean> {
    return (await this.link.run("end", memberId, "", "kick")) === 1;
  }

  async closeRoom(room: string): Promise<number> {
    return Number(await this.link.run("closeRoom", room, "the room was closed by an operator"));
  }
}

/** Control entries on a node's stream: how to close the connection they name. */
const CONTROLS: Record<string, [number, string]> = {
  moved: [CLOSE_RESUMED_ELSEWHERE, "session resumed on another connection"],
  kick: [CLOSE_KICKED, "removed by an operator"],
  end: [4003, "the session was ended"],
  expired: [4003, "the session expired"],
};

type Limits = ClusterHost["limits"];
const AGAIN = "; say hello without resume and join again";

/** Why a resume was refused, by the resume script's outcome. */
const REFUSALS: Record<string, (lastSeq: number, seq: number, limits: Limits) => [SignalErrorCode, string]> = {
  unknown: () => [SignalErrorCode.SessionExpired, `no such session to resume (expired or unknown)${AGAIN}`],
  ahead: (lastSeq, seq) => [
    SignalErrorCode.BadMessage,
    `resume.lastSeq ${lastSeq} is ahead of the last message this session was sent (seq ${seq})`,
  ],
  lost: (lastSeq, dropped, limits) => [
    SignalErrorCode.SessionExpired,
    `messages ${lastSeq + 1} to ${dropped} were dropped (the outbox keeps ${limits.outboxMessages} messages)${AGAIN}`,
  ],
  expired: () => [
    SignalErrorCode.SessionExpired,
    "the session's token has expired; resume with a fresh token in hello.token, or say hello anew",
  ],
  identity: () => [SignalErrorCode.Unauthorized, "the token is for another identity than the session"],
};
