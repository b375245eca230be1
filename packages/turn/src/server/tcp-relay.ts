import { randomBytes, randomInt } from "node:crypto";
import { type Socket, connect as tcpConnect } from "node:net";
import type { MessagePort } from "node:worker_threads";
import { ErrorCode } from "../stun/attributes/error-code.js";
import { decodeXorAddress, encodeXorAddress, type TransportAddress } from "../stun/attributes/xor-address.js";
import { AttributeType, StunClass, StunMethod } from "../stun/constants.js";
import { MessageBuilder, type StunMessage } from "../stun/message.js";
import { type Allocation, MAX_PEER_CONNECTIONS, type PeerAddress, type PeerConnection } from "./allocation.js";
import type { ClientLink } from "./client-link.js";
import { u32 } from "./responses.js";
import { bridgeSocket } from "./stream-bridge.js";
import type { Reply, TurnMethodHandler } from "./turn-method.js";

/** RFC 6062 §5.2-§5.4: how long a peer connection waits for its ConnectionBind, and a Connect for the peer. */
const CONNECTION_BIND_TIMEOUT_MS = 30_000;
/** CONNECTION-IDs carry the relay thread that holds the peer connection in their top bits (up to 64 threads). */
const WORKER_SHIFT = 26;

/** What the RFC 6062 relay needs from the server. */
export interface TcpRelayHost {
  readonly worker: number;
  readonly fingerprint: boolean;
  readonly counters: { relayDropped: number };
  allocationFor(link: ClientLink): Allocation | undefined;
  peerDenied(peer: TransportAddress, allocation: Allocation): Promise<{ code: number; reason: string } | undefined>;
  refuse(msg: StunMessage, link: ClientLink, code: number, reason: string, reply: Reply): Buffer;
  seal(builder: MessageBuilder, reply: Reply): Buffer;
  /** With several relay threads: ask the thread named in a CONNECTION-ID to bind its peer connection to us. */
  bindElsewhere?: (worker: number, id: number, username: string) => Promise<MessagePort | undefined>;
}

/**
 * RFC 6062 TCP allocations: Connect (the relay dials a peer), ConnectionAttempt (a peer dialled the relay) and
 * ConnectionBind (a new client connection becomes the raw pipe for one peer connection). A client's data
 * connection may reach another relay thread than the allocation's; the two sockets are then bridged.
 */
export class TcpRelay {
  private readonly connections = new Map<number, { allocation: Allocation; conn: PeerConnection }>();

  constructor(private readonly host: TcpRelayHost) {}

  readonly connect: TurnMethodHandler = async (msg, link, auth, reply) => {
    const { host } = this;
    const allocation = host.allocationFor(link);
    if (!allocation)
      return host.refuse(msg, link, ErrorCode.AllocationMismatch, "no allocation for this 5-tuple", reply);
    if (allocation.username !== auth.username) {
      return host.refuse(msg, link, ErrorCode.WrongCredentials, "allocation belongs to another user", reply);
    }
    if (allocation.relay.kind !== "tcp") {
      return host.refuse(msg, link, ErrorCode.BadRequest, "Connect needs a TCP allocation (RFC 6062)", reply);
    }
    const peerBuf = msg.get(AttributeType.XorPeerAddress);
    if (!peerBuf) return host.refuse(msg, link, ErrorCode.BadRequest, "no XOR-PEER-ADDRESS", reply);
    let peer: TransportAddress;
    try {
      peer = decodeXorAddress(peerBuf, msg.transactionId);
    } catch (err) {
      return host.refuse(msg, link, ErrorCode.BadRequest, (err as Error).message, reply);
    }
    const denied = await host.peerDenied(peer, allocation);
    if (denied) return host.refuse(msg, link, denied.code, denied.reason, reply);
    if (!allocation.hasPermission(peer.address, Date.now())) {
      return host.refuse(msg, link, ErrorCode.Forbidden, `no permission for ${peer.address}`, reply);
    }
    const peerKey = `${peer.address}|${peer.port}`;
    for (const conn of allocation.peerConnections.values()) {
      if (conn.peerKey === peerKey) {
        return host.refuse(msg, link, ErrorCode.ConnectionAlreadyExists, `already connected to ${peer.address}`, reply);
      }
    }
    if (allocation.peerConnections.size >= MAX_PEER_CONNECTIONS) {
      return host.refuse(msg, link, ErrorCode.InsufficientCapacity, "too many peer connections", reply);
    }
    const socket = await dial(peer, allocation.relay.address);
    if (!socket) {
      return host.refuse(msg, link, ErrorCode.ConnectionTimeoutOrFailure, `cannot connect to ${peer.address}`, reply);
    }
    if (host.allocationFor(link) !== allocation) {
      socket.destroy();
      return host.refuse(msg, link, ErrorCode.AllocationMismatch, "allocation went away during Connect", reply);
    }
    const conn = this.add(allocation, socket, { address: peer.address, port: peer.port });
    const b = new MessageBuilder(msg.method, StunClass.SuccessResponse, msg.transactionId);
    return host.seal(b.add(AttributeType.ConnectionId, u32(conn.id)), reply);
  };

  readonly connectionBind: TurnMethodHandler = async (msg, link, auth, reply) => {
    const idBuf = msg.get(AttributeType.ConnectionId);
    const id = idBuf?.length === 4 ? idBuf.readUInt32BE(0) : undefined;
    const fail = (code: number, reason: string) => {
      link.send(this.host.refuse(msg, link, code, reason, reply));
      link.close();
      return undefined;
    };
    if (!link.pipeTo || !link.bridge) return fail(ErrorCode.BadRequest, "ConnectionBind needs a TCP or TLS connection");
    const success = () =>
      link.send(this.host.seal(new MessageBuilder(msg.method, StunClass.SuccessResponse, msg.transactionId), reply));
    const owner = id === undefined ? this.host.worker : id >>> WORKER_SHIFT;
    if (id !== undefined && owner !== this.host.worker && this.host.bindElsewhere) {
      const port = await this.host.bindElsewhere(owner, id, auth.username).catch(() => undefined);
      if (!port) return fail(ErrorCode.BadRequest, "unknown or already bound CONNECTION-ID");
      success();
      link.bridge(port);
      return undefined;
    }
    const entry = id === undefined ? undefined : this.connections.get(id);
    if (!entry || entry.conn.bound) return fail(ErrorCode.BadRequest, "unknown or already bound CONNECTION-ID");
    if (entry.allocation.username !== auth.username) {
      return fail(ErrorCode.WrongCredentials, "connection belongs to another user");
    }
    this.markBound(entry.conn);
    // The success must reach the client before any peer byte, so it is sent here rather than returned.
    success();
    link.pipeTo(entry.conn.socket);
    return undefined;
  };

  /** Another relay thread got the ConnectionBind for one of our peer connections: bridge it there. */
  bindFromElsewhere(id: number, username: string, port: MessagePort): boolean {
    const entry = this.connections.get(id);
    if (!entry || entry.conn.bound || entry.allocation.username !== username) {
      port.close();
      return false;
    }
    this.markBound(entry.conn);
    bridgeSocket(entry.conn.socket, port);
    return true;
  }

  /** RFC 6062 §5.3: a peer connected to the relay; tell the client with ConnectionAttempt if it has a permission. */
  peerConnected(allocation: Allocation, socket: Socket): void {
    const address = socket.remoteAddress ?? "";
    if (!allocation.hasPermission(address, Date.now()) || allocation.peerConnections.size >= MAX_PEER_CONNECTIONS) {
      this.host.counters.relayDropped++;
      socket.destroy();
      return;
    }
    const conn = this.add(allocation, socket, { address, port: socket.remotePort ?? 0 });
    const tid = randomBytes(12);
    const attempt = new MessageBuilder(StunMethod.ConnectionAttempt, StunClass.Indication, tid)
      .add(AttributeType.ConnectionId, u32(conn.id))
      .add(AttributeType.XorPeerAddress, encodeXorAddress(conn.peer, tid))
      .build({ fingerprint: this.host.fingerprint });
    allocation.link.send(attempt);
  }

  /** The allocation is going: its peer connections are no longer addressable (Allocation.close destroys them). */
  forget(allocation: Allocation): void {
    for (const id of allocation.peerConnections.keys()) this.connections.delete(id);
  }

  private markBound(conn: PeerConnection): void {
    conn.bound = true;
    clearTimeout(conn.timer);
  }

  private add(allocation: Allocation, socket: Socket, peer: PeerAddress): PeerConnection {
    const newId = () => ((this.host.worker << WORKER_SHIFT) | randomInt(1, 2 ** WORKER_SHIFT)) >>> 0;
    let id = newId();
    while (this.connections.has(id)) id = newId();
    const conn: PeerConnection = {
      id,
      socket,
      peer,
      peerKey: `${peer.address}|${peer.port}`,
      bound: false,
      timer: setTimeout(() => socket.destroy(), CONNECTION_BIND_TIMEOUT_MS),
    };
    socket.on("error", () => {});
    socket.once("close", () => {
      clearTimeout(conn.timer);
      allocation.peerConnections.delete(id);
      this.connections.delete(id);
    });
    allocation.peerConnections.set(id, conn);
    this.connections.set(id, { allocation, conn });
    return conn;
  }
}

/** Dials a peer from the relay address; undefined when it fails or takes longer than RFC 6062's 30 s. */
function dial(peer: PeerAddress, localAddress: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: peer.address, port: peer.port, localAddress, noDelay: true });
    const timer = setTimeout(() => {
      s.destroy();
      resolve(undefined);
    }, CONNECTION_BIND_TIMEOUT_MS);
    s.once("connect", () => {
      clearTimeout(timer);
      s.pause();
      resolve(s);
    });
    s.once("error", () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}
