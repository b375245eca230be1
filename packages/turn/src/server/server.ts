import { randomBytes, randomInt } from "node:crypto";
import type { RemoteInfo } from "node:dgram";
import {
  createServer as createTcpServer,
  isIPv6,
  type Server as NetServer,
  type Socket,
  connect as tcpConnect,
} from "node:net";
import { createServer as createTlsServer, type TlsOptions } from "node:tls";
import { EventEmitter } from "eventemitter3";
import type { Authenticate } from "../auth/credentials.js";
import { TurnError } from "../errors.js";
import { ErrorCode, encodeAddressErrorCode } from "../stun/attributes/error-code.js";
import { decodeXorAddress, encodeXorAddress, type TransportAddress } from "../stun/attributes/xor-address.js";
import { isChannelData, MAX_CHANNEL, MIN_CHANNEL } from "../stun/channel-data.js";
import { AttributeType, isComprehensionRequired, StunClass, StunMethod } from "../stun/constants.js";
import { fingerprintMatches } from "../stun/fingerprint.js";
import { decodeMessage, looksLikeStun, MessageBuilder, type StunMessage } from "../stun/message.js";
import { methodName } from "../stun/message-type.js";
import { StreamFramer } from "../transport/stream-framer.js";
import { bindUdp, type UdpEndpoint } from "../transport/udp.js";
import {
  Allocation,
  MAX_CHANNELS,
  MAX_PEER_CONNECTIONS,
  MAX_PERMISSIONS,
  type PeerAddress,
  type PeerConnection,
  type Relay,
} from "./allocation.js";
import { type Authenticated, Authenticator } from "./authenticate.js";
import { answerBinding } from "./binding.js";
import type { ClientLink } from "./client-link.js";
import { validateOptions } from "./options.js";
import { PeerPolicy, type PeerPolicyOptions, type PeerRule } from "./peer-policy.js";
import { DataPlane } from "./relay.js";
import { RelayPorts } from "./relay-ports.js";
import { errorResponse } from "./responses.js";

export interface TurnServerOptions {
  /** Addresses to listen on (coturn's -L). Default 127.0.0.1. */
  listeningIps?: string[];
  /** Port for UDP and TCP (coturn's -p). Default 3478; 0 picks a free port. */
  listeningPort?: number;
  /** Port for TLS (coturn's --tls-listening-port). Default 5349; used only when `tls` is set. */
  tlsListeningPort?: number;
  /** TLS certificate, key and ciphers (coturn's --cert, --pkey, --cipher-list). */
  tls?: Pick<TlsOptions, "cert" | "key" | "ciphers">;
  noUdp?: boolean;
  noTcp?: boolean;
  /** Addresses relay sockets bind to (coturn's -E). Default: the first listening IP of each family. */
  relayIps?: string[];
  /** Address advertised in XOR-RELAYED-ADDRESS instead of the relay IP, behind 1:1 NAT (coturn's -X). */
  externalIp?: string;
  /** Relay port range (coturn's --min-port/--max-port). Default 49152-65535. */
  minPort?: number;
  maxPort?: number;
  /** Realm for long-term credentials (coturn's -r). Default "parley". */
  realm?: string;
  /** coturn's --user values ("name:password" or "name:0x<md5 key>"). */
  users?: string[];
  /** coturn's --static-auth-secret values; enables TURN REST ephemeral credentials. */
  authSecrets?: string[];
  /** Hook: long-term key(s) for a username. Replaces `users`/`authSecrets` when given. */
  authenticate?: Authenticate;
  /** Hook: may this user relay to this peer? Runs after the built-in peer policy. */
  permit?: (peer: PeerAddress, username: string) => boolean;
  peerPolicy?: PeerPolicyOptions;
  /** Hook: may this user open one more allocation? Runs after the built-in quotas. */
  quota?: (username: string, current: number) => boolean;
  /**
   * Password algorithms offered in PASSWORD-ALGORITHMS, preferred first. Default SHA-256 then MD5; MD5 only when a
   * --user is configured by its 0x MD5 key, since no SHA-256 key can be derived for it.
   */
  passwordAlgorithms?: Array<"sha256" | "md5">;
  /**
   * coturn's -z/--no-auth: no credentials at all, an open relay. Only for closed test networks; the peer policy
   * still applies. Every allocation belongs to the user "anonymous".
   */
  noAuth?: boolean;
  /** Allocations per user (coturn's -q); 0 = unlimited. */
  userQuota?: number;
  /** Allocations in all (coturn's -Q); 0 = unlimited. */
  totalQuota?: number;
  /** Bytes per second per allocation each way (coturn's -s, given there in bits… see cli); 0 = unlimited. */
  maxBytesPerSecond?: number;
  /** Longest allocation lifetime granted, seconds (coturn's --max-allocate-lifetime). Default 3600. */
  maxAllocateLifetime?: number;
  /** Nonce lifetime, seconds (coturn's --stale-nonce). Default 600. */
  nonceLifetime?: number;
  /**
   * Requests with wrong credentials (a MESSAGE-INTEGRITY that does not verify) per second per client IP; past it
   * they are dropped unanswered. Requests without MESSAGE-INTEGRITY — every honest client's first one — and stale
   * nonces are answered statelessly and never spend it. Default 50; 0 turns the limit off.
   */
  authFailureRate?: number;
  /** SOFTWARE attribute value, or false to send none. */
  software?: string | false;
  /** Always add FINGERPRINT to responses (coturn's -f); otherwise only when the request had one. */
  fingerprint?: boolean;
  /** Largest amount of unsent data a TCP/TLS connection may queue before it is closed. Default 1 MiB. */
  maxStreamBacklog?: number;
  /**
   * A TCP/TLS connection that has neither an allocation nor became an RFC 6062 data connection this long after it
   * opened is closed: idle or slow connections must not pile up. Default 30 s.
   */
  streamSetupTimeoutMs?: number;
  /** RFC 8016 mobility (coturn's --mobility): an allocation can move to a new 5-tuple with its ticket. */
  mobility?: boolean;
}

export interface TurnServerCounters {
  packetsIn: number;
  /** Datagrams/frames that were not STUN/ChannelData, failed to decode, or failed FINGERPRINT. */
  dropped: number;
  bindingRequests: number;
  errorResponses: number;
  allocations: number;
  relayedToPeer: number;
  relayedToClient: number;
  /** Packets dropped for lack of a permission, a bound channel, or bandwidth. */
  relayDropped: number;
  /** Payload bytes relayed to peers and to clients. */
  bytesToPeer: number;
  bytesToClient: number;
  rateLimited: number;
  /** TCP/TLS connections closed because they set nothing up in time (streamSetupTimeoutMs). */
  streamsTimedOut: number;
}

export interface AllocationInfo {
  username: string;
  client: { transport: string; address: string; port: number };
  relay: { address: string; port: number };
}

export interface TurnServerEvents {
  "allocation-created": (info: AllocationInfo & { lifetime: number }) => void;
  "allocation-refreshed": (info: AllocationInfo & { lifetime: number }) => void;
  /** RFC 8016: the allocation moved to a new client 5-tuple (`client` is the new one). */
  "allocation-moved": (info: AllocationInfo & { from: { address: string; port: number } }) => void;
  /** Removed: `reason` is "expired", "refresh-zero" or "closed". */
  "allocation-deleted": (info: AllocationInfo & { reason: string }) => void;
  permission: (info: AllocationInfo & { peer: string }) => void;
  channel: (info: AllocationInfo & { channel: number; peer: PeerAddress }) => void;
  "auth-failure": (info: { client: { address: string; port: number }; username: string; reason: string }) => void;
  /** A request was refused; `reason` says why (never includes secrets). */
  rejected: (info: { client: { address: string; port: number }; method: string; code: number; reason: string }) => void;
  /**
   * A peer was refused by the peer policy (`rule`), the server's own listener rule, or the `permit` hook. Requests
   * are also reported as `rejected`; a Send indication to the server's own listener is dropped and reported here.
   */
  "peer-denied": (info: { username: string; peer: string; rule: PeerRule | "own-listener" | "permit-hook" }) => void;
}

const knownAttributeTypes = new Set<number>(Object.values(AttributeType));
const TRANSPORT_UDP = 17;
const TRANSPORT_TCP = 6;
/** RFC 6062 §5.2-§5.4: how long a peer connection waits for its ConnectionBind, and a Connect for the peer. */
const CONNECTION_BIND_TIMEOUT_MS = 30_000;
/** Peer bytes held for a data connection that has sent ConnectionBind but not yet been answered. */
const MAX_PENDING_RAW = 64 * 1024;
const DEFAULT_LIFETIME = 600;
const PERMISSION_LIFETIME_MS = 300_000;
const CHANNEL_LIFETIME_MS = 600_000;

/** How responses to an authenticated request are signed: with the request's key and integrity algorithm. */
type Reply = { key: Buffer | undefined; sha256: boolean; fingerprint: boolean };
/** Answers one authenticated TURN request: the response to send, or undefined when it is sent later or never. */
type TurnMethodHandler = (
  msg: StunMessage,
  link: ClientLink,
  auth: Authenticated,
  reply: Reply,
) => Buffer | undefined | Promise<Buffer | undefined>;

/** A STUN/TURN server (RFC 8489, RFC 8656) over UDP, TCP and TLS, embeddable with hooks. */
export class TurnServer extends EventEmitter<TurnServerEvents> {
  readonly counters: TurnServerCounters = {
    packetsIn: 0,
    dropped: 0,
    bindingRequests: 0,
    errorResponses: 0,
    allocations: 0,
    relayedToPeer: 0,
    relayedToClient: 0,
    relayDropped: 0,
    bytesToPeer: 0,
    bytesToClient: 0,
    rateLimited: 0,
    streamsTimedOut: 0,
  };
  private readonly udp: UdpEndpoint[] = [];
  private readonly streams: NetServer[] = [];
  private readonly connections = new Set<Socket>();
  private readonly allocations = new Map<string, Allocation>();
  private readonly allocationsPerUser = new Map<string, number>();
  private readonly peerConnections = new Map<number, { allocation: Allocation; conn: PeerConnection }>();
  private readonly tickets = new Map<string, Allocation>();
  /** Allocates still binding their relay port, by 5-tuple → transaction id, so a retransmission is not a new one. */
  private readonly allocating = new Map<string, string>();
  /** The server's own listening endpoints ("ip|port"; "*|port" for a wildcard address): never a relay target. */
  private readonly ownEndpoints = new Set<string>();
  private readonly policy: PeerPolicy;
  private readonly ports: RelayPorts;
  private readonly auth: Authenticator;
  private readonly dataPlane: DataPlane;
  private readonly software: string | undefined;
  /**
   * The TURN methods (RFC 8656, RFC 6062), each answered after authentication: the one place that lists them. A
   * method not here (other than Binding, answered before) gets 400.
   */
  private readonly turnMethods = new Map<number, TurnMethodHandler>([
    [StunMethod.Allocate, (msg, link, auth, reply) => this.onAllocate(msg, link, auth, reply)],
    [StunMethod.Refresh, (msg, link, auth, reply) => this.onRefresh(msg, link, auth, reply)],
    [StunMethod.CreatePermission, (msg, link, auth, reply) => this.onCreatePermission(msg, link, auth, reply)],
    [StunMethod.ChannelBind, (msg, link, auth, reply) => this.onChannelBind(msg, link, auth, reply)],
    [StunMethod.Connect, (msg, link, auth, reply) => this.onConnect(msg, link, auth, reply)],
    [StunMethod.ConnectionBind, (msg, link, auth, reply) => this.onConnectionBind(msg, link, auth, reply)],
  ]);
  private sweepTimer: NodeJS.Timeout | undefined;
  private state: "idle" | "listening" | "closed" = "idle";

  constructor(private readonly options: TurnServerOptions = {}) {
    super();
    validateOptions(options);
    this.software = options.software === false ? undefined : (options.software ?? "Parley TURN");
    this.dataPlane = new DataPlane(this.counters, options.fingerprint === true);
    this.auth = new Authenticator(options, {
      refuse: (msg, link, code, reason, opts) => this.refuse(msg, link, code, reason, opts),
      onFailure: (info) => this.emit("auth-failure", info),
      onRateLimited: () => this.counters.rateLimited++,
    });
    this.policy = new PeerPolicy({
      ...options.peerPolicy,
      ownAddresses: [...(options.listeningIps ?? ["127.0.0.1"]), ...(options.peerPolicy?.ownAddresses ?? [])],
    });
    this.ports = new RelayPorts(options.minPort ?? 49152, options.maxPort ?? 65535);
  }

  /** Bound addresses once `listen()` resolved: UDP first, then TCP, then TLS. */
  get addresses(): { transport: "udp" | "tcp" | "tls"; address: string; port: number }[] {
    const out: { transport: "udp" | "tcp" | "tls"; address: string; port: number }[] = this.udp.map(
      ({ address, port }) => ({ transport: "udp" as const, address, port }),
    );
    for (const server of this.streams) {
      const a = server.address();
      if (a && typeof a === "object") {
        out.push({ transport: (server as { tls?: boolean }).tls ? "tls" : "tcp", address: a.address, port: a.port });
      }
    }
    return out;
  }

  /** The effective peer policy in one line (the CLI logs it at start). */
  get peerPolicy(): string {
    return this.policy.describe();
  }

  get allocationCount(): number {
    return this.allocations.size;
  }

  async listen(): Promise<this> {
    if (this.state !== "idle") throw new TurnError("CLOSED", `listen() called on a server that is ${this.state}`);
    this.state = "listening";
    let port = this.options.listeningPort ?? 3478;
    try {
      for (const ip of this.options.listeningIps ?? ["127.0.0.1"]) {
        port = await this.listenUdpAndTcp(ip, port);
        if (this.options.tls) await this.listenStream(ip, this.options.tlsListeningPort ?? 5349, true);
      }
    } catch (err) {
      await this.close();
      throw err;
    }
    for (const { address, port: bound } of this.addresses) {
      const wildcard = address === "0.0.0.0" || address === "::";
      this.ownEndpoints.add(`${wildcard ? "*" : address}|${bound}`);
    }
    this.sweepTimer = setInterval(() => this.sweep(), 1000);
    this.sweepTimer.unref();
    return this;
  }

  /** Stops listening, deletes every allocation and closes every connection. Safe to call more than once. */
  async close(): Promise<void> {
    this.state = "closed";
    clearInterval(this.sweepTimer);
    for (const allocation of [...this.allocations.values()]) this.deleteAllocation(allocation, "closed");
    this.ports.close();
    for (const socket of this.connections) socket.destroy();
    this.connections.clear();
    const udp = this.udp.splice(0).map((e) => e.socket);
    const streams = this.streams.splice(0);
    await Promise.all([
      ...udp.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      ...streams.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    ]);
  }

  /**
   * UDP and TCP on one port number, as clients expect. With port 0 the kernel picks UDP's port, and another program
   * may hold the same number for TCP: then both are tried again on a new port (a few times) instead of failing.
   */
  private async listenUdpAndTcp(ip: string, requested: number): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      let port = requested;
      let endpoint: UdpEndpoint | undefined;
      if (!this.options.noUdp) {
        endpoint = await bindUdp(ip, port, (data, from, via) => this.onDatagram(data, from, via));
        this.udp.push(endpoint);
        port = endpoint.port;
      }
      if (this.options.noTcp) return port;
      try {
        return await this.listenStream(ip, port, false);
      } catch (err) {
        const inUse = /EADDRINUSE/.test((err as Error).message);
        if (!(requested === 0 && endpoint && inUse && attempt < 10)) throw err;
        this.udp.splice(this.udp.indexOf(endpoint), 1);
        await new Promise<void>((resolve) => endpoint.socket.close(() => resolve()));
      }
    }
  }

  private listenStream(ip: string, port: number, tls: boolean): Promise<number> {
    const onConnection = (socket: Socket) => this.onStreamConnection(socket, tls ? "tls" : "tcp");
    const server = tls
      ? createTlsServer({ ...this.options.tls }, onConnection)
      : createTcpServer({ noDelay: true }, onConnection);
    (server as { tls?: boolean }).tls = tls;
    return new Promise((resolve, reject) => {
      server.once("error", (err) =>
        reject(new TurnError("LISTEN_FAILED", `cannot listen on ${tls ? "tls" : "tcp"} ${ip}:${port}: ${err.message}`)),
      );
      server.listen({ host: ip, port, ipv6Only: isIPv6(ip) }, () => {
        server.removeAllListeners("error");
        server.on("error", () => {});
        this.streams.push(server);
        const a = server.address();
        resolve(a && typeof a === "object" ? a.port : port);
      });
    });
  }

  // ---- transports -------------------------------------------------------------------------------------------------

  private onDatagram(data: Buffer, from: RemoteInfo, via: UdpEndpoint): void {
    this.counters.packetsIn++;
    const key = `u|${from.address}|${from.port}|${via.port}`;
    if (isChannelData(data)) {
      const allocation = this.allocations.get(key);
      if (allocation) this.dataPlane.channelData(allocation, data);
      else this.counters.dropped++;
      return;
    }
    const link: ClientLink = {
      transport: "udp",
      remoteAddress: from.address,
      remotePort: from.port,
      localAddress: via.address,
      localPort: via.port,
      key,
      stream: false,
      send: (buf) => via.socket.send(buf, from.port, from.address),
      close: () => {},
    };
    this.onStun(data, link);
  }

  private onStreamConnection(socket: Socket, transport: "tcp" | "tls"): void {
    if (this.state !== "listening") {
      socket.destroy();
      return;
    }
    this.connections.add(socket);
    const framer = new StreamFramer();
    const maxBacklog = this.options.maxStreamBacklog ?? 1024 * 1024;
    // RFC 6062 data connection: after ConnectionBind the stream stops being STUN and carries raw peer bytes.
    let raw: "no" | "binding" | "piped" = "no";
    let pendingRaw: Buffer[] = [];
    let pendingRawBytes = 0;
    const link: ClientLink = {
      transport,
      remoteAddress: socket.remoteAddress ?? "",
      remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? "",
      localPort: socket.localPort ?? 0,
      key: `${transport}|${socket.remoteAddress}|${socket.remotePort}|${socket.localPort}`,
      stream: true,
      send: (buf) => {
        // A client that does not read must not make the server buffer without bound.
        if (socket.writableLength > maxBacklog) socket.destroy();
        else socket.write(buf);
      },
      close: () => socket.destroy(),
      pipeTo: (peer: Socket) => {
        raw = "piped";
        const early = [framer.drain(), ...pendingRaw];
        pendingRaw = [];
        for (const chunk of early) if (chunk.length) peer.write(chunk);
        socket.pipe(peer);
        peer.pipe(socket);
        peer.resume();
        socket.once("close", () => peer.destroy());
        peer.once("close", () => socket.destroy());
      },
    };
    socket.on("data", (chunk) => {
      if (raw === "piped") return; // pipe() has taken over
      if (raw === "binding") {
        pendingRawBytes += chunk.length;
        if (pendingRawBytes > MAX_PENDING_RAW) socket.destroy();
        else pendingRaw.push(chunk);
        return;
      }
      const ok = framer.push(chunk, (frame) => {
        this.counters.packetsIn++;
        if (isChannelData(frame)) {
          const allocation = this.allocations.get(link.key);
          if (allocation) this.dataPlane.channelData(allocation, frame);
          else this.counters.dropped++;
          return undefined;
        }
        // 0x000b ConnectionBind request: everything after it on this connection is peer data.
        const isBind = frame.length >= 2 && frame.readUInt16BE(0) === StunMethod.ConnectionBind;
        if (isBind) raw = "binding";
        this.onStun(frame, link);
        return isBind ? "stop" : undefined;
      });
      if (!ok) {
        this.counters.dropped++;
        socket.destroy();
      }
    });
    // Closed unless, by then, it carries an allocation or has become an RFC 6062 data connection.
    const setupTimer = setTimeout(() => {
      if (raw !== "no" || this.allocations.get(link.key)?.link === link) return;
      this.counters.streamsTimedOut++;
      socket.destroy();
    }, this.options.streamSetupTimeoutMs ?? 30_000);
    setupTimer.unref();
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(setupTimer);
      this.connections.delete(socket);
      // RFC 8656 §3.1: over TCP/TLS the allocation lives as long as the connection.
      const allocation = this.allocations.get(link.key);
      if (allocation) this.deleteAllocation(allocation, "closed");
    });
  }

  // ---- STUN requests ----------------------------------------------------------------------------------------------

  private onStun(data: Buffer, link: ClientLink): void {
    if (!looksLikeStun(data)) {
      this.counters.dropped++;
      return;
    }
    let msg: StunMessage;
    try {
      msg = decodeMessage(data);
    } catch {
      this.counters.dropped++; // RFC 8489 §6.3: malformed messages are discarded silently.
      return;
    }
    if (!fingerprintMatches(msg)) {
      this.counters.dropped++;
      return;
    }
    if (msg.cls === StunClass.Indication) {
      if (msg.method === StunMethod.Send) this.onSendIndication(msg, link);
      return;
    }
    if (msg.cls !== StunClass.Request) return;
    this.handleRequest(msg, link).then(
      (reply) => {
        if (reply) link.send(reply);
      },
      () => this.counters.dropped++,
    );
  }

  private async handleRequest(msg: StunMessage, link: ClientLink): Promise<Buffer | undefined> {
    const fingerprint = this.options.fingerprint === true || msg.fingerprintOffset !== -1;
    const unknown = msg.attributes
      .filter((a) => isComprehensionRequired(a.type) && !knownAttributeTypes.has(a.type))
      .map((a) => a.type);
    if (unknown.length > 0) {
      return this.refuse(msg, link, ErrorCode.UnknownAttribute, "unknown comprehension-required attributes", {
        unknownAttributes: unknown,
        fingerprint,
      });
    }
    if (msg.method === StunMethod.Binding) {
      this.counters.bindingRequests++;
      return answerBinding(msg, {
        from: { address: link.remoteAddress, port: link.remotePort },
        local: { address: link.localAddress, port: link.localPort },
        software: this.software,
        fingerprint,
      });
    }
    const handler = this.turnMethods.get(msg.method);
    if (!handler) {
      return this.refuse(msg, link, ErrorCode.BadRequest, `method ${methodName(msg.method)} is not supported`, {
        fingerprint,
      });
    }
    const auth = await this.auth.authenticate(msg, link, fingerprint);
    if (auth === null) return undefined; // over the failed-authentication budget: dropped unanswered
    if (Buffer.isBuffer(auth)) return auth;
    const reply: Reply = { key: auth.key, sha256: auth.sha256, fingerprint };
    return handler(msg, link, auth, reply);
  }

  // ---- TURN methods -----------------------------------------------------------------------------------------------

  private async onAllocate(
    msg: StunMessage,
    link: ClientLink,
    auth: Authenticated,
    reply: Reply,
  ): Promise<Buffer | undefined> {
    const txid = msg.transactionId.toString("hex");
    const inFlight = this.allocating.get(link.key);
    if (inFlight !== undefined) {
      // The original request will be answered when its relay port is bound; a retransmission waits for that.
      if (inFlight === txid) return undefined;
      return this.refuse(msg, link, ErrorCode.AllocationMismatch, "an Allocate is already in progress", reply);
    }
    const existing = this.allocations.get(link.key);
    if (existing) {
      // RFC 8656 §7.2: a retransmitted Allocate gets the original success; any other Allocate on the 5-tuple is 437.
      if (existing.transactionId === txid) return this.allocateSuccess(msg, existing, link, undefined, reply);
      return this.refuse(msg, link, ErrorCode.AllocationMismatch, "allocation already exists for this 5-tuple", reply);
    }
    const transport = msg.get(AttributeType.RequestedTransport);
    if (transport?.length !== 4) {
      return this.refuse(msg, link, ErrorCode.BadRequest, "REQUESTED-TRANSPORT missing or malformed", reply);
    }
    const tcpRelay = transport[0] === TRANSPORT_TCP;
    if (transport[0] !== TRANSPORT_UDP && !tcpRelay) {
      return this.refuse(
        msg,
        link,
        ErrorCode.UnsupportedTransportProtocol,
        `REQUESTED-TRANSPORT ${transport[0]} is neither UDP (17) nor TCP (6)`,
        reply,
      );
    }
    if (tcpRelay && !link.stream) {
      return this.refuse(
        msg,
        link,
        ErrorCode.BadRequest,
        "a TCP relay (RFC 6062) needs a TCP or TLS connection",
        reply,
      );
    }
    const evenPort = msg.get(AttributeType.EvenPort);
    const token = msg.get(AttributeType.ReservationToken);
    if (token && evenPort) {
      return this.refuse(msg, link, ErrorCode.BadRequest, "RESERVATION-TOKEN and EVEN-PORT together", reply);
    }
    const family = msg.get(AttributeType.RequestedAddressFamily);
    if (family && (family.length !== 4 || (family[0] !== 0x01 && family[0] !== 0x02))) {
      return this.refuse(msg, link, ErrorCode.BadRequest, "REQUESTED-ADDRESS-FAMILY malformed", reply);
    }
    const additional = msg.get(AttributeType.AdditionalAddressFamily);
    if (additional && (additional.length !== 4 || additional[0] !== 0x02 || family || token || tcpRelay)) {
      return this.refuse(
        msg,
        link,
        ErrorCode.BadRequest,
        "ADDITIONAL-ADDRESS-FAMILY must be IPv6, for a UDP relay, without REQUESTED-ADDRESS-FAMILY or a token",
        reply,
      );
    }
    if (family && token) {
      return this.refuse(
        msg,
        link,
        ErrorCode.BadRequest,
        "RESERVATION-TOKEN and REQUESTED-ADDRESS-FAMILY together",
        reply,
      );
    }
    // RFC 8656 §7.2: without REQUESTED-ADDRESS-FAMILY the relay is IPv4, whatever family the client connected over.
    const wantV6 = family !== undefined && family[0] === 0x02;
    const relayIp = this.relayIpFor(wantV6 ? 6 : 4);
    if (!relayIp) {
      return this.refuse(
        msg,
        link,
        ErrorCode.AddressFamilyNotSupported,
        `no IPv${wantV6 ? 6 : 4} relay address`,
        reply,
      );
    }
    const current = this.allocationsPerUser.get(auth.username) ?? 0;
    const userQuota = this.options.userQuota ?? 0;
    const totalQuota = this.options.totalQuota ?? 0;
    if (
      (userQuota > 0 && current >= userQuota) ||
      (totalQuota > 0 && this.allocations.size >= totalQuota) ||
      (this.options.quota && !this.options.quota(auth.username, current))
    ) {
      return this.refuse(msg, link, ErrorCode.AllocationQuotaReached, "allocation quota reached", reply);
    }

    this.allocating.set(link.key, txid);
    try {
      return await this.createAllocation(msg, link, auth, reply, {
        tcpRelay,
        token,
        evenPort,
        relayIp,
        current,
        txid,
        dual: additional !== undefined,
      });
    } finally {
      this.allocating.delete(link.key);
    }
  }

  private async createAllocation(
    msg: StunMessage,
    link: ClientLink,
    auth: Authenticated,
    reply: Reply,
    req: {
      tcpRelay: boolean;
      token: Buffer | undefined;
      evenPort: Buffer | undefined;
      relayIp: string;
      current: number;
      txid: string;
      dual: boolean;
    },
  ): Promise<Buffer> {
    const { tcpRelay, token, evenPort, relayIp, current, txid } = req;
    let relay: Relay;
    let reservation: Buffer | undefined;
    if (tcpRelay) {
      const got = await this.ports.allocateTcp(relayIp);
      if (!got) return this.refuse(msg, link, ErrorCode.InsufficientCapacity, "no relay port available", reply);
      relay = { kind: "tcp", ...got };
    } else if (token) {
      const claimed = this.ports.claim(token);
      if (!claimed) {
        return this.refuse(msg, link, ErrorCode.InsufficientCapacity, "reservation token unknown or expired", reply);
      }
      relay = { kind: "udp", ...claimed };
    } else {
      const reserveNext = evenPort !== undefined && evenPort.length >= 1 && (evenPort[0]! & 0x80) !== 0;
      const got = await this.ports.allocate(relayIp, { even: evenPort !== undefined, reserveNext });
      if (!got) return this.refuse(msg, link, ErrorCode.InsufficientCapacity, "no relay port available", reply);
      relay = { kind: "udp", ...got.relay };
      reservation = got.token;
    }
    // RFC 8656 §7.2 dual allocation: an IPv6 relay besides the IPv4 one, or ADDRESS-ERROR-CODE 440 if there is none.
    let relay6: Relay | undefined;
    let family6Error = false;
    const relayIp6 = req.dual ? this.relayIpFor(6) : undefined;
    if (relayIp6) {
      const got6 = await this.ports.allocate(relayIp6);
      if (got6) relay6 = { kind: "udp", ...got6.relay };
      else family6Error = true;
    } else if (req.dual) family6Error = true;
    // The awaits above may have let a retransmission or a close in; recheck before committing.
    if (this.state !== "listening" || this.allocations.has(link.key)) {
      if (relay.kind === "udp") relay.socket.close();
      else relay.server.close();
      if (relay6?.kind === "udp") relay6.socket.close();
      return this.refuse(msg, link, ErrorCode.AllocationMismatch, "allocation already exists for this 5-tuple", reply);
    }
    const lifetime = this.grantLifetime(msg, DEFAULT_LIFETIME);
    const allocation = new Allocation(
      link,
      relay,
      auth.username,
      auth.key,
      txid,
      lifetime,
      this.options.maxBytesPerSecond ?? 0,
    );
    allocation.relay6 = relay6;
    allocation.family6Error = family6Error;
    if (relay6?.kind === "udp")
      relay6.socket.on("message", (data, from) => this.dataPlane.fromPeer(allocation, data, from));
    if (relay.kind === "udp")
      relay.socket.on("message", (data, from) => this.dataPlane.fromPeer(allocation, data, from));
    else relay.server.on("connection", (socket) => this.onPeerTcpConnection(allocation, socket));
    if (this.options.mobility && msg.has(AttributeType.MobilityTicket)) this.issueTicket(allocation);
    this.allocations.set(link.key, allocation);
    this.allocationsPerUser.set(auth.username, current + 1);
    this.counters.allocations++;
    this.emit("allocation-created", { ...this.info(allocation), lifetime });
    return this.allocateSuccess(msg, allocation, link, reservation, reply);
  }

  private allocateSuccess(
    msg: StunMessage,
    allocation: Allocation,
    link: ClientLink,
    reservation: Buffer | undefined,
    reply: Reply,
  ): Buffer {
    const tid = msg.transactionId;
    const lifetime = Math.max(0, Math.round((allocation.expiresAt - Date.now()) / 1000));
    // -X/--external-ip stands for the relay address of its own family only.
    const external = this.options.externalIp;
    const useExternal = external !== undefined && isIPv6(external) === isIPv6(allocation.relay.address);
    const relayed = { address: useExternal ? external : allocation.relay.address, port: allocation.relay.port };
    const b = new MessageBuilder(msg.method, StunClass.SuccessResponse, tid).add(
      AttributeType.XorRelayedAddress,
      encodeXorAddress(relayed, tid),
    );
    if (allocation.relay6) b.add(AttributeType.XorRelayedAddress, encodeXorAddress(allocation.relay6, tid));
    if (allocation.family6Error)
      b.add(AttributeType.AddressErrorCode, encodeAddressErrorCode(6, ErrorCode.AddressFamilyNotSupported));
    b.add(AttributeType.Lifetime, u32(lifetime)).add(
      AttributeType.XorMappedAddress,
      encodeXorAddress({ address: link.remoteAddress, port: link.remotePort }, tid),
    );
    if (reservation) b.add(AttributeType.ReservationToken, reservation);
    if (allocation.ticket) b.add(AttributeType.MobilityTicket, Buffer.from(allocation.ticket, "hex"));
    return this.seal(b, reply);
  }

  private onRefresh(msg: StunMessage, link: ClientLink, auth: Authenticated, reply: Reply): Buffer {
    let allocation = this.allocations.get(link.key);
    const ticket = this.options.mobility ? msg.get(AttributeType.MobilityTicket) : undefined;
    if (!allocation && ticket && ticket.length > 0) {
      // RFC 8016 §3.3: a Refresh from a new 5-tuple carrying the ticket moves the allocation there.
      const moving = this.tickets.get(ticket.toString("hex"));
      if (moving && moving.username === auth.username && moving.link.transport === link.transport) {
        const from = { address: moving.link.remoteAddress, port: moving.link.remotePort };
        this.allocations.delete(moving.link.key);
        moving.link = link;
        this.allocations.set(link.key, moving);
        allocation = moving;
        this.emit("allocation-moved", { ...this.info(moving), from });
      }
    }
    if (!allocation)
      return this.refuse(msg, link, ErrorCode.AllocationMismatch, "no allocation for this 5-tuple", reply);
    if (allocation.username !== auth.username) {
      return this.refuse(msg, link, ErrorCode.WrongCredentials, "allocation belongs to another user", reply);
    }
    if (ticket && allocation.ticket) this.issueTicket(allocation);
    const lifetime = this.grantLifetime(msg, DEFAULT_LIFETIME);
    if (lifetime === 0) this.deleteAllocation(allocation, "refresh-zero");
    else {
      allocation.expiresAt = Date.now() + lifetime * 1000;
      this.emit("allocation-refreshed", { ...this.info(allocation), lifetime });
    }
    const b = new MessageBuilder(msg.method, StunClass.SuccessResponse, msg.transactionId).add(
      AttributeType.Lifetime,
      u32(lifetime),
    );
    if (lifetime > 0 && allocation.ticket) b.add(AttributeType.MobilityTicket, Buffer.from(allocation.ticket, "hex"));
    return this.seal(b, reply);
  }

  private onCreatePermission(msg: StunMessage, link: ClientLink, auth: Authenticated, reply: Reply): Buffer {
    const allocation = this.allocations.get(link.key);
    if (!allocation)
      return this.refuse(msg, link, ErrorCode.AllocationMismatch, "no allocation for this 5-tuple", reply);
    if (allocation.username !== auth.username) {
      return this.refuse(msg, link, ErrorCode.WrongCredentials, "allocation belongs to another user", reply);
    }
    const peers: TransportAddress[] = [];
    for (const slot of msg.attributes) {
      if (slot.type !== AttributeType.XorPeerAddress) continue;
      try {
        peers.push(decodeXorAddress(msg.raw.subarray(slot.offset, slot.offset + slot.length), msg.transactionId));
      } catch (err) {
        return this.refuse(msg, link, ErrorCode.BadRequest, (err as Error).message, reply);
      }
    }
    if (peers.length === 0) return this.refuse(msg, link, ErrorCode.BadRequest, "no XOR-PEER-ADDRESS", reply);
    // RFC 8656 §9.2: all or nothing; a forbidden peer fails the whole request.
    for (const peer of peers) {
      const denied = this.peerDenied(peer, allocation, false);
      if (denied) return this.refuse(msg, link, denied.code, denied.reason, reply);
    }
    const now = Date.now();
    for (const peer of peers) {
      if (!allocation.permissions.has(peer.address) && allocation.permissions.size >= MAX_PERMISSIONS) {
        return this.refuse(
          msg,
          link,
          ErrorCode.InsufficientCapacity,
          `more than ${MAX_PERMISSIONS} permissions`,
          reply,
        );
      }
      allocation.permissions.set(peer.address, now + PERMISSION_LIFETIME_MS);
      this.emit("permission", { ...this.info(allocation), peer: peer.address });
    }
    return this.seal(new MessageBuilder(msg.method, StunClass.SuccessResponse, msg.transactionId), reply);
  }

  private onChannelBind(msg: StunMessage, link: ClientLink, auth: Authenticated, reply: Reply): Buffer {
    const allocation = this.allocations.get(link.key);
    if (!allocation)
      return this.refuse(msg, link, ErrorCode.AllocationMismatch, "no allocation for this 5-tuple", reply);
    if (allocation.username !== auth.username) {
      return this.refuse(msg, link, ErrorCode.WrongCredentials, "allocation belongs to another user", reply);
    }
    const channelBuf = msg.get(AttributeType.ChannelNumber);
    const peerBuf = msg.get(AttributeType.XorPeerAddress);
    if (channelBuf?.length !== 4 || !peerBuf) {
      return this.refuse(msg, link, ErrorCode.BadRequest, "CHANNEL-NUMBER or XOR-PEER-ADDRESS missing", reply);
    }
    const channel = channelBuf.readUInt16BE(0);
    if (channel < MIN_CHANNEL || channel > MAX_CHANNEL) {
      return this.refuse(
        msg,
        link,
        ErrorCode.BadRequest,
        `channel 0x${channel.toString(16)} outside 0x4000-0x7FFF`,
        reply,
      );
    }
    let peer: TransportAddress;
    try {
      peer = decodeXorAddress(peerBuf, msg.transactionId);
    } catch (err) {
      return this.refuse(msg, link, ErrorCode.BadRequest, (err as Error).message, reply);
    }
    const denied = this.peerDenied(peer, allocation, true);
    if (denied) return this.refuse(msg, link, denied.code, denied.reason, reply);
    const peerKey = `${peer.address}|${peer.port}`;
    const byNumber = allocation.channels.get(channel);
    const byPeer = allocation.channelsByPeer.get(peerKey);
    // RFC 8656 §11.2: a channel is bound to one peer and a peer to one channel, for the binding's lifetime.
    if ((byNumber && byNumber.peerKey !== peerKey) || (byPeer && byPeer.channel !== channel)) {
      return this.refuse(msg, link, ErrorCode.BadRequest, "channel or peer already bound differently", reply);
    }
    if (!byNumber && allocation.channels.size >= MAX_CHANNELS) {
      return this.refuse(msg, link, ErrorCode.InsufficientCapacity, "no channels left", reply);
    }
    // A ChannelBind installs a permission too (RFC 8656 §12), so it counts against the same cap as CreatePermission.
    if (!allocation.permissions.has(peer.address) && allocation.permissions.size >= MAX_PERMISSIONS) {
      return this.refuse(msg, link, ErrorCode.InsufficientCapacity, `more than ${MAX_PERMISSIONS} permissions`, reply);
    }
    const now = Date.now();
    const binding = byNumber ?? { channel, peer: { address: peer.address, port: peer.port }, peerKey, expiresAt: 0 };
    binding.expiresAt = now + CHANNEL_LIFETIME_MS;
    allocation.channels.set(channel, binding);
    allocation.channelsByPeer.set(peerKey, binding);
    allocation.permissions.set(peer.address, now + PERMISSION_LIFETIME_MS);
    this.emit("channel", { ...this.info(allocation), channel, peer: binding.peer });
    return this.seal(new MessageBuilder(msg.method, StunClass.SuccessResponse, msg.transactionId), reply);
  }

  // ---- data -------------------------------------------------------------------------------------------------------

  private onSendIndication(msg: StunMessage, link: ClientLink): void {
    const allocation = this.allocations.get(link.key);
    const peerBuf = msg.get(AttributeType.XorPeerAddress);
    const data = msg.get(AttributeType.Data);
    if (!allocation || !peerBuf || !data) {
      this.counters.relayDropped++;
      return;
    }
    let peer: TransportAddress;
    try {
      peer = decodeXorAddress(peerBuf, msg.transactionId);
    } catch {
      this.counters.relayDropped++;
      return;
    }
    // The permission (per IP) may cover the server's own address under --allow-loopback-peers; its listeners never.
    if (this.isOwnEndpoint(peer.address, peer.port)) {
      this.counters.relayDropped++;
      this.emit("peer-denied", { username: allocation.username, peer: peer.address, rule: "own-listener" });
      return;
    }
    this.dataPlane.toPeer(allocation, data, peer.address, peer.port);
  }

  // ---- RFC 6062 TCP relay -----------------------------------------------------------------------------------------

  private async onConnect(msg: StunMessage, link: ClientLink, auth: Authenticated, reply: Reply): Promise<Buffer> {
    const allocation = this.allocations.get(link.key);
    if (!allocation)
      return this.refuse(msg, link, ErrorCode.AllocationMismatch, "no allocation for this 5-tuple", reply);
    if (allocation.username !== auth.username) {
      return this.refuse(msg, link, ErrorCode.WrongCredentials, "allocation belongs to another user", reply);
    }
    if (allocation.relay.kind !== "tcp") {
      return this.refuse(msg, link, ErrorCode.BadRequest, "Connect needs a TCP allocation (RFC 6062)", reply);
    }
    const peerBuf = msg.get(AttributeType.XorPeerAddress);
    if (!peerBuf) return this.refuse(msg, link, ErrorCode.BadRequest, "no XOR-PEER-ADDRESS", reply);
    let peer: TransportAddress;
    try {
      peer = decodeXorAddress(peerBuf, msg.transactionId);
    } catch (err) {
      return this.refuse(msg, link, ErrorCode.BadRequest, (err as Error).message, reply);
    }
    const denied = this.peerDenied(peer, allocation, true);
    if (denied) return this.refuse(msg, link, denied.code, denied.reason, reply);
    if (!allocation.hasPermission(peer.address, Date.now())) {
      return this.refuse(msg, link, ErrorCode.Forbidden, `no permission for ${peer.address}`, reply);
    }
    const peerKey = `${peer.address}|${peer.port}`;
    for (const conn of allocation.peerConnections.values()) {
      if (conn.peerKey === peerKey) {
        return this.refuse(msg, link, ErrorCode.ConnectionAlreadyExists, `already connected to ${peer.address}`, reply);
      }
    }
    if (allocation.peerConnections.size >= MAX_PEER_CONNECTIONS) {
      return this.refuse(msg, link, ErrorCode.InsufficientCapacity, "too many peer connections", reply);
    }
    const relayAddress = allocation.relay.address;
    const socket = await new Promise<Socket | undefined>((resolve) => {
      const s = tcpConnect({ host: peer.address, port: peer.port, localAddress: relayAddress, noDelay: true });
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
    if (!socket) {
      return this.refuse(msg, link, ErrorCode.ConnectionTimeoutOrFailure, `cannot connect to ${peer.address}`, reply);
    }
    if (this.allocations.get(link.key) !== allocation) {
      socket.destroy();
      return this.refuse(msg, link, ErrorCode.AllocationMismatch, "allocation went away during Connect", reply);
    }
    const conn = this.addPeerConnection(allocation, socket, { address: peer.address, port: peer.port });
    const b = new MessageBuilder(msg.method, StunClass.SuccessResponse, msg.transactionId);
    return this.seal(b.add(AttributeType.ConnectionId, u32(conn.id)), reply);
  }

  private onConnectionBind(msg: StunMessage, link: ClientLink, auth: Authenticated, reply: Reply): undefined {
    const idBuf = msg.get(AttributeType.ConnectionId);
    const entry = idBuf?.length === 4 ? this.peerConnections.get(idBuf.readUInt32BE(0)) : undefined;
    const fail = (code: number, reason: string) => {
      link.send(this.refuse(msg, link, code, reason, reply));
      link.close();
      return undefined;
    };
    if (!link.pipeTo) return fail(ErrorCode.BadRequest, "ConnectionBind needs a TCP or TLS connection");
    if (!entry || entry.conn.bound) return fail(ErrorCode.BadRequest, "unknown or already bound CONNECTION-ID");
    if (entry.allocation.username !== auth.username) {
      return fail(ErrorCode.WrongCredentials, "connection belongs to another user");
    }
    entry.conn.bound = true;
    clearTimeout(entry.conn.timer);
    // The success must reach the client before any peer byte, so it is sent here rather than returned.
    link.send(this.seal(new MessageBuilder(msg.method, StunClass.SuccessResponse, msg.transactionId), reply));
    link.pipeTo(entry.conn.socket);
    return undefined;
  }

  /** RFC 6062 §5.3: a peer connected to the relay; tell the client with ConnectionAttempt if it has a permission. */
  private onPeerTcpConnection(allocation: Allocation, socket: Socket): void {
    const address = socket.remoteAddress ?? "";
    if (!allocation.hasPermission(address, Date.now()) || allocation.peerConnections.size >= MAX_PEER_CONNECTIONS) {
      this.counters.relayDropped++;
      socket.destroy();
      return;
    }
    const conn = this.addPeerConnection(allocation, socket, { address, port: socket.remotePort ?? 0 });
    const tid = randomBytes(12);
    const attempt = new MessageBuilder(StunMethod.ConnectionAttempt, StunClass.Indication, tid)
      .add(AttributeType.ConnectionId, u32(conn.id))
      .add(AttributeType.XorPeerAddress, encodeXorAddress(conn.peer, tid))
      .build({ fingerprint: this.options.fingerprint === true });
    allocation.link.send(attempt);
  }

  private addPeerConnection(allocation: Allocation, socket: Socket, peer: PeerAddress): PeerConnection {
    let id = randomInt(1, 0xffffffff);
    while (this.peerConnections.has(id)) id = randomInt(1, 0xffffffff);
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
      this.peerConnections.delete(id);
    });
    allocation.peerConnections.set(id, conn);
    this.peerConnections.set(id, { allocation, conn });
    return conn;
  }

  // ---- helpers ----------------------------------------------------------------------------------------------------

  private issueTicket(allocation: Allocation): void {
    if (allocation.ticket) this.tickets.delete(allocation.ticket);
    // The ticket is opaque (RFC 8016 §3.1), but coturn's turnutils_uclient keeps it as a C string: a zero byte cuts
    // it short and the move fails with 437. 16 random bytes have one about 6 % of the time (it failed coturn's -M
    // runs about 1 in 10, each run moving three allocations), so the ticket is those bytes in base64url: ASCII text.
    allocation.ticket = Buffer.from(randomBytes(16).toString("base64url")).toString("hex");
    this.tickets.set(allocation.ticket, allocation);
  }

  /**
   * Why `peer` may not be relayed to, or undefined. `withPort` for requests that name a port (ChannelBind, Connect):
   * the server's own listeners are refused whatever the policy allows — with --allow-loopback-peers the loopback
   * rule used to run first and let a client relay into the server itself.
   */
  private peerDenied(
    peer: TransportAddress,
    allocation: Allocation,
    withPort: boolean,
  ): { code: number; reason: string } | undefined {
    if (!allocation.relayFor(peer.address)) {
      return { code: ErrorCode.PeerAddressFamilyMismatch, reason: `peer ${peer.address} is not the relay's family` };
    }
    const deny = (rule: PeerRule | "own-listener" | "permit-hook", reason: string) => {
      this.emit("peer-denied", { username: allocation.username, peer: peer.address, rule });
      return { code: ErrorCode.Forbidden, reason };
    };
    if (withPort && this.isOwnEndpoint(peer.address, peer.port)) {
      return deny("own-listener", `${peer.address} port ${peer.port} is this TURN server's listener`);
    }
    const refused = this.policy.classify(peer.address);
    if (refused) return deny(refused.rule, refused.reason);
    if (this.options.permit && !this.options.permit({ address: peer.address, port: peer.port }, allocation.username)) {
      return deny("permit-hook", `peer ${peer.address} refused by the permit hook`);
    }
    return undefined;
  }

  private isOwnEndpoint(address: string, port: number): boolean {
    if (this.ownEndpoints.has(`*|${port}`)) return true;
    const plain = address.startsWith("::ffff:") ? address.slice(7) : address;
    return this.ownEndpoints.has(`${plain}|${port}`);
  }

  private relayIpFor(family: 4 | 6): string | undefined {
    const candidates = this.options.relayIps ?? this.options.listeningIps ?? ["127.0.0.1"];
    return candidates.find((ip) => (family === 6 ? isIPv6(ip) : !isIPv6(ip)));
  }

  /**
   * RFC 8656 §7.2/§8.1: the requested LIFETIME, never below the default and never above the server maximum. A Refresh
   * asking for 0 deletes the allocation.
   */
  private grantLifetime(msg: StunMessage, fallback: number): number {
    const requested = msg.get(AttributeType.Lifetime);
    const max = this.options.maxAllocateLifetime ?? 3600;
    const seconds = requested?.length === 4 ? requested.readUInt32BE(0) : fallback;
    if (seconds === 0 && msg.method === StunMethod.Refresh) return 0;
    return Math.min(Math.max(seconds, fallback), max);
  }

  private deleteAllocation(allocation: Allocation, reason: string): void {
    if (this.allocations.get(allocation.link.key) !== allocation) return;
    this.allocations.delete(allocation.link.key);
    const n = (this.allocationsPerUser.get(allocation.username) ?? 1) - 1;
    if (n <= 0) this.allocationsPerUser.delete(allocation.username);
    else this.allocationsPerUser.set(allocation.username, n);
    if (allocation.ticket) this.tickets.delete(allocation.ticket);
    for (const id of allocation.peerConnections.keys()) this.peerConnections.delete(id);
    allocation.close();
    this.emit("allocation-deleted", { ...this.info(allocation), reason });
  }

  private sweep(): void {
    const now = Date.now();
    for (const allocation of [...this.allocations.values()]) {
      if (allocation.expiresAt <= now) this.deleteAllocation(allocation, "expired");
      else allocation.sweep(now);
    }
    this.ports.sweep(now);
    this.auth.sweep(now);
  }

  private info(allocation: Allocation): AllocationInfo {
    const { link, relay } = allocation;
    return {
      username: allocation.username,
      client: { transport: link.transport, address: link.remoteAddress, port: link.remotePort },
      relay: { address: relay.address, port: relay.port },
    };
  }

  private seal(builder: MessageBuilder, reply: Reply): Buffer {
    if (this.software) builder.add(AttributeType.Software, Buffer.from(this.software));
    return builder.build({
      integrityKey: reply.sha256 ? undefined : reply.key,
      integritySha256Key: reply.sha256 ? reply.key : undefined,
      fingerprint: reply.fingerprint,
    });
  }

  private refuse(
    msg: StunMessage,
    link: ClientLink,
    code: number,
    reason: string,
    options: {
      unknownAttributes?: number[];
      fingerprint: boolean;
      key?: Buffer | undefined;
      sha256?: boolean;
      extra?: Array<[number, Buffer]>;
      /** false: leave SOFTWARE out (the compact answer to a bare first request). */
      software?: false;
    },
  ): Buffer {
    this.counters.errorResponses++;
    this.emit("rejected", {
      client: { address: link.remoteAddress, port: link.remotePort },
      method: methodName(msg.method),
      code,
      reason,
    });
    return errorResponse(msg, code, {
      reason,
      unknownAttributes: options.unknownAttributes,
      software: options.software === false ? undefined : this.software,
      fingerprint: options.fingerprint,
      integrityKey: options.sha256 ? undefined : options.key,
      integritySha256Key: options.sha256 ? options.key : undefined,
      extra: options.extra,
    });
  }
}

function u32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}

export function createTurnServer(options: TurnServerOptions = {}): TurnServer {
  return new TurnServer(options);
}
