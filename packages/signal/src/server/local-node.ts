import type { WebSocket } from "ws";
import { SignalErrorCode } from "../protocol/errors.js";
import type {
  ClientMessage,
  Hello,
  Join,
  Leave,
  Member,
  SendBroadcast,
  SendSignal,
  ServerMessage,
} from "../protocol/messages.js";
import { mayJoin } from "./auth.js";
import { CLOSE_KICKED, CLOSE_RESUMED_ELSEWHERE } from "./close-codes.js";
import type { ClusterHost } from "./redis/cluster.js";
import type { RoomStore } from "./rooms.js";
import type { SendBatcher } from "./send-batcher.js";
import { Session } from "./session.js";

/** What the in-memory node needs from the server that owns the sockets: the cluster's needs, and where rooms live. */
export interface LocalHost extends Omit<ClusterHost, "limits" | "welcome" | "startIceRefresh"> {
  readonly limits: ClusterHost["limits"] & { outboxBytes: number };
  welcome(re: string, session: Session, rooms: string[], resumed: boolean): ServerMessage;
  startIceRefresh(session: Session): void;
  readonly batcher: SendBatcher;
  readonly store: RoomStore;
  /** True once the server is shutting down: a dropped socket then starts no resume window. */
  readonly closing: boolean;
}

type Request = Exclude<ClientMessage, Hello>;

/** Who asked: the connection (errors go to it), its socket (answers), and the session it holds. */
interface Asker {
  conn: object;
  socket: WebSocket;
  session: Session;
}

/**
 * Sessions and rooms in this process (no `redis` option): the same requests as RedisCluster answers, for one node.
 * A session outlives its socket for the resume window (session.ts); rooms live in the RoomStore.
 */
export class LocalNode {
  private readonly sessions = new Map<string, Session>();
  /** The session each connection holds; a connection whose session moved on (resumed elsewhere, kicked) has none. */
  private readonly byConn = new Map<object, Session>();
  private readonly handlers: { [T in Request["type"]]: (asker: Asker, msg: never) => void | Promise<void> } = {
    ping: (asker, msg: Extract<Request, { type: "ping" }>) => this.answer(asker, msg.id, { type: "pong", re: msg.id }),
    received: (asker, msg: Extract<Request, { type: "received" }>) => this.onReceived(asker, msg.seq),
    signal: (asker, msg: SendSignal) => this.onSignal(asker, msg),
    join: (asker, msg: Join) => this.onJoin(asker, msg),
    leave: (asker, msg: Leave) => this.onLeave(asker, msg),
    broadcast: (asker, msg: SendBroadcast) => this.onBroadcast(asker, msg),
  };

  constructor(private readonly host: LocalHost) {}

  get sessionCount(): number {
    return this.sessions.size;
  }

  holds(conn: object): boolean {
    return this.byConn.has(conn);
  }

  /** A hello (new session, or a resume) from a connection that holds none yet. */
  async hello(conn: object, socket: WebSocket, msg: Hello): Promise<void> {
    if (msg.resume) return this.resume(conn, socket, msg, msg.resume);
    const grant = await this.host.authenticate(msg.token, conn);
    if (typeof grant === "string") {
      this.host.fail(conn, msg.id, SignalErrorCode.Unauthorized, grant);
      this.host.closeAfterFlush(socket, 1008, "unauthorized");
      return;
    }
    if (socket.readyState !== socket.OPEN) return;
    const session = new Session(grant, this.host.batcher, {
      outboxMessages: this.host.limits.outboxMessages,
      outboxBytes: this.host.limits.outboxBytes,
    });
    this.host.counters.sessionsCreated++;
    session.socket = socket;
    this.sessions.set(session.id, session);
    this.byConn.set(conn, session);
    this.host.send(socket, JSON.stringify(this.host.welcome(msg.id, session, [], false)));
    this.host.startIceRefresh(session);
  }

  private async resume(
    conn: object,
    socket: WebSocket,
    msg: Hello,
    resume: NonNullable<Hello["resume"]>,
  ): Promise<void> {
    const session = this.sessions.get(resume.sessionId);
    if (!session?.tokenMatches(resume.resumeToken)) {
      this.host.counters.resumesRefused++;
      this.host.fail(
        conn,
        msg.id,
        SignalErrorCode.SessionExpired,
        "no such session to resume (expired or unknown); say hello without resume and join again",
      );
      return;
    }
    const check = session.resumeFrom(resume.lastSeq);
    if (!check.ok && check.problem === "ahead") {
      // A confused client, not a lost session: refuse this resume and keep the session for its real holder.
      this.host.counters.resumesRefused++;
      this.host.fail(conn, msg.id, SignalErrorCode.BadMessage, check.detail);
      return;
    }
    if (!check.ok) {
      session.socket?.terminate();
      await this.expire(session);
      this.host.counters.resumesRefused++;
      this.host.counters.outboxOverflows++;
      this.host.fail(
        conn,
        msg.id,
        SignalErrorCode.SessionExpired,
        `${check.detail}; say hello without resume and join again`,
      );
      return;
    }
    if (!(await this.renewGrant(conn, socket, msg, session))) return;
    // The new connection takes over; the old one (if still open) is told why it is being closed, so its holder
    // does not try to resume too.
    const old = session.socket;
    this.release(session);
    if (old && old !== socket) old.close(CLOSE_RESUMED_ELSEWHERE, "session resumed on another connection");
    session.rotateResumeToken(resume.resumeToken);
    session.socket = socket;
    clearTimeout(session.expiryTimer);
    session.expiryTimer = undefined;
    this.byConn.set(conn, session);
    this.host.counters.resumes++;
    this.host.send(socket, JSON.stringify(this.host.welcome(msg.id, session, [...session.rooms.keys()], true)));
    session.replay(resume.lastSeq);
    this.host.startIceRefresh(session);
  }

  /**
   * A resume is bounded by the session's grant: past its token's expiry it needs a fresh token (in the same hello),
   * for the same identity. Answers the error itself and returns false when the resume may not go on.
   */
  private async renewGrant(conn: object, socket: WebSocket, msg: Hello, session: Session): Promise<boolean> {
    if (msg.token === undefined) {
      const expiresAt = session.grant.expiresAt;
      if (expiresAt === undefined || expiresAt > Date.now()) return true;
      this.host.counters.resumesRefused++;
      this.host.fail(
        conn,
        msg.id,
        SignalErrorCode.SessionExpired,
        "the session's token has expired; resume with a fresh token in hello.token, or say hello anew",
      );
      return false;
    }
    let grant = await this.host.authenticate(msg.token, conn);
    if (typeof grant !== "string" && grant.identity !== session.grant.identity) {
      grant = "the token is for another identity than the session";
    }
    if (typeof grant === "string") {
      this.host.counters.resumesRefused++;
      this.host.fail(conn, msg.id, SignalErrorCode.Unauthorized, grant);
      this.host.closeAfterFlush(socket, 1008, "unauthorized");
      return false;
    }
    session.grant = grant;
    return true;
  }

  /** A request after hello (the server has checked that this connection holds a session). */
  message(conn: object, socket: WebSocket, msg: Request): void | Promise<void> {
    const session = this.byConn.get(conn);
    if (!session) return;
    session.confirmToken();
    // A repeated id is a retry after a resume: answer it again, do not do it twice (PROTOCOL.md, "Resume").
    const cached = "id" in msg && msg.id ? session.answerTo(msg.id) : undefined;
    if (cached) {
      this.host.send(socket, cached);
      return;
    }
    return this.handlers[msg.type]({ conn, socket, session }, msg as never);
  }

  /** The connection closed: a clean close ends the session now (the room hears member-left), else it may resume. */
  onClose(conn: object, clean: boolean): void {
    const session = this.byConn.get(conn);
    this.byConn.delete(conn);
    if (!session) return;
    if (clean) void this.expire(session);
    else this.detach(session);
  }

  /** Shutdown: sessions are dropped (in memory, nothing can resume them elsewhere). */
  close(): void {
    for (const session of this.sessions.values()) session.clearTimers();
    this.sessions.clear();
    this.byConn.clear();
  }

  // ---- operations -------------------------------------------------------------------------------------------------

  async rooms(): Promise<Array<{ room: string; members: number }>> {
    const counts = new Map<string, number>();
    for (const session of this.sessions.values()) {
      for (const room of session.rooms.keys()) counts.set(room, (counts.get(room) ?? 0) + 1);
    }
    return [...counts].map(([room, members]) => ({ room, members })).sort((a, b) => a.room.localeCompare(b.room));
  }

  roomMembers(room: string): Promise<Member[]> {
    return this.host.store.members(room);
  }

  async kick(memberId: string): Promise<boolean> {
    const session = this.sessions.get(memberId);
    if (!session) return false;
    const socket = session.socket;
    this.release(session);
    socket?.close(CLOSE_KICKED, "removed by an operator");
    await this.expire(session);
    return true;
  }

  async closeRoom(room: string): Promise<number> {
    const members = await this.host.store.members(room);
    for (const member of members) {
      const session = this.sessions.get(member.id);
      await this.host.store.leave(room, member.id);
      if (!session) continue;
      session.rooms.delete(room);
      session.deliver({ type: "removed", room, reason: "the room was closed by an operator" });
    }
    return members.length;
  }

  // ---- requests ---------------------------------------------------------------------------------------------------

  /** Sends the answer to request `id` and keeps it for a retry of the same id. */
  private answer({ socket, session }: Asker, id: string | undefined, reply: ServerMessage): void {
    const text = JSON.stringify(reply);
    if (id) session.remember(id, text);
    this.host.send(socket, text);
  }

  private refuse(asker: Asker, id: string | undefined, code: SignalErrorCode, message: string): void {
    this.answer(asker, id, id ? { type: "error", re: id, code, message } : { type: "error", code, message });
  }

  private onReceived({ conn, session }: Asker, seq: number): void {
    if (seq > session.lastSeq) {
      const message = `received.seq ${seq} is ahead of the last message sent (seq ${session.lastSeq})`;
      this.host.fail(conn, undefined, SignalErrorCode.BadMessage, message);
    } else session.acknowledge(seq);
  }

  /** The hot path, kept synchronous: route one signal to one member of a room both are in. */
  private onSignal(asker: Asker, msg: SendSignal): void {
    const { session } = asker;
    if (!session.rooms.has(msg.room)) {
      this.refuse(asker, msg.id, SignalErrorCode.NotInRoom, `not in room "${msg.room}"`);
      return;
    }
    const target = this.sessions.get(msg.to);
    if (!target?.rooms.has(msg.room)) {
      this.refuse(asker, msg.id, SignalErrorCode.UnknownMember, `no member "${msg.to}" in room "${msg.room}"`);
      return;
    }
    // The sender is stamped here; nothing the client claims about itself is forwarded.
    target.deliver({ type: "signal", room: msg.room, from: session.id, kind: msg.kind, payload: msg.payload });
    if (msg.id) this.answer(asker, msg.id, { type: "ack", re: msg.id });
  }

  private async onJoin(asker: Asker, msg: Join): Promise<void> {
    const { session } = asker;
    const { roomsPerConnection, roomCapacity } = this.host.limits;
    if (!mayJoin(session.grant, msg.room)) {
      this.refuse(asker, msg.id, SignalErrorCode.Forbidden, `not allowed to join room "${msg.room}"`);
      return;
    }
    if (!session.rooms.has(msg.room) && session.rooms.size >= roomsPerConnection) {
      const message = `already in ${session.rooms.size} rooms (limit ${roomsPerConnection})`;
      this.refuse(asker, msg.id, SignalErrorCode.TooManyRooms, message);
      return;
    }
    const member = { id: session.id, ...(msg.metadata ? { metadata: msg.metadata } : {}) };
    const result = await this.host.store.join(msg.room, member, roomCapacity);
    if (!result.ok) {
      const message = `room "${msg.room}" has ${roomCapacity} members already`;
      this.refuse(asker, msg.id, SignalErrorCode.RoomFull, message);
      return;
    }
    const rejoin = session.rooms.has(msg.room);
    const metadataChanged = rejoin && JSON.stringify(session.rooms.get(msg.room)) !== JSON.stringify(msg.metadata);
    session.rooms.set(msg.room, msg.metadata);
    this.answer(asker, msg.id, {
      type: "joined",
      re: msg.id,
      room: msg.room,
      self: session.id,
      members: result.members,
    });
    // A join of a room one is already in updates one's metadata: the others hear of it as member-updated.
    if (!rejoin || metadataChanged) {
      const type = rejoin ? "member-updated" : "member-joined";
      for (const other of result.members) this.sessions.get(other.id)?.deliver({ type, room: msg.room, member });
    }
  }

  private async onLeave(asker: Asker, msg: Leave): Promise<void> {
    const { session } = asker;
    if (!session.rooms.has(msg.room)) {
      this.refuse(asker, msg.id, SignalErrorCode.NotInRoom, `not in room "${msg.room}"`);
      return;
    }
    await this.leaveRoom(session, msg.room);
    this.answer(asker, msg.id, { type: "left", re: msg.id, room: msg.room });
  }

  private async onBroadcast(asker: Asker, msg: SendBroadcast): Promise<void> {
    const { session } = asker;
    if (!session.rooms.has(msg.room)) {
      this.refuse(asker, msg.id, SignalErrorCode.NotInRoom, `not in room "${msg.room}"`);
      return;
    }
    if (!session.grant.canBroadcast) {
      this.refuse(asker, msg.id, SignalErrorCode.Forbidden, "this token may not broadcast");
      return;
    }
    for (const member of await this.host.store.members(msg.room)) {
      if (member.id === session.id) continue;
      this.sessions
        .get(member.id)
        ?.deliver({ type: "broadcast", room: msg.room, from: session.id, payload: msg.payload });
    }
    if (msg.id) this.answer(asker, msg.id, { type: "ack", re: msg.id });
  }

  // ---- sessions ---------------------------------------------------------------------------------------------------

  /** Forgets which connection holds the session (it moved to another, or was ended). */
  private release(session: Session): void {
    for (const [conn, held] of this.byConn) if (held === session) this.byConn.delete(conn);
  }

  /** The socket went away: keep the session (rooms, outbox) for the resume window, with no member-left yet. */
  private detach(session: Session): void {
    session.socket = undefined;
    clearTimeout(session.iceTimer);
    if (this.host.closing) return;
    session.expiryTimer = setTimeout(() => void this.expire(session), this.host.limits.resumeWindowMs);
    session.expiryTimer.unref();
  }

  /** The session is gone for good: leave its rooms (others now see member-left) and forget it. */
  private async expire(session: Session): Promise<void> {
    session.clearTimers();
    this.sessions.delete(session.id);
    for (const room of [...session.rooms.keys()]) {
      try {
        await this.leaveRoom(session, room);
      } catch (err) {
        // A failing store must not take the process down; the member is gone from this server either way.
        this.host.onError(err as Error);
      }
    }
  }

  private async leaveRoom(session: Session, room: string): Promise<void> {
    session.rooms.delete(room);
    await this.host.store.leave(room, session.id);
    for (const other of await this.host.store.members(room)) {
      this.sessions.get(other.id)?.deliver({ type: "member-left", room, memberId: session.id });
    }
  }
}
