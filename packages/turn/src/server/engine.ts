import type { RemoteInfo } from "node:dgram";
import { isIPv6, type Socket } from "node:net";
import type { MessagePort } from "node:worker_threads";
import { EventEmitter } from "eventemitter3";
import { TurnError } from "../errors.js";
import { ErrorCode } from "../stun/attributes/error-code.js";
import { decodeXorAddress, type TransportAddress } from "../stun/attributes/xor-address.js";
import { isChannelData } from "../stun/channel-data.js";
import { AttributeType, isComprehensionRequired, StunClass, StunMethod } from "../stun/constants.js";
import { fingerprintMatches } from "../stun/fingerprint.js";
import { decodeMessage, looksLikeStun, type MessageBuilder, type StunMessage } from "../stun/message.js";
import { methodName } from "../stun/message-type.js";
import type { UdpEndpoint } from "../transport/udp.js";
import type { Allocation } from "./allocation.js";
import { Authenticator } from "./authenticate.js";
import { answerBinding } from "./binding.js";
import type { ClientLink } from "./client-link.js";
import { emptyCounters, type TurnServerCounters } from "./counters.js";
import { type BoundAddress, Listeners } from "./listeners.js";
import { allocate } from "./methods/allocate.js";
import type { MethodHost } from "./methods/host.js";
import { channelBind, createPermission } from "./methods/permission.js";
import { refresh } from "./methods/refresh.js";
import { type MovedAllocation, snapshot, Tickets } from "./mobility.js";
import { PeerPolicy, type PeerRule } from "./peer-policy.js";
import { DataPlane } from "./relay.js";
import { RelayPorts } from "./relay-ports.js";
import { errorResponse } from "./responses.js";
import type { AllocationInfo, TurnServerEvents, TurnServerOptions } from "./server.js";
import { openStreamLink } from "./stream-link.js";
import { TcpRelay } from "./tcp-relay.js";
import type { Reply, TurnMethodHandler } from "./turn-method.js";

/**
 * What the engines of one TurnServer share. In one thread it is the server's own ledger; with several relay threads
 * each engine reaches the others through the main thread (`elsewhere`).
 */
export interface EngineContext {
  /** This engine's relay thread number (0 when alone): written into tickets, tokens and CONNECTION-IDs. */
  readonly worker: number;
  /** The nonce secret every thread shares, so a nonce issued by one verifies in all. */
  readonly nonceSecret?: Buffer;
  /** Takes an allocation slot under the quotas; false → 486. */
  acquire(username: string): boolean | Promise<boolean>;
  release(username: string): void;
  readonly elsewhere?: {
    takeAllocation(
      owner: number,
      ticket: string,
      username: string,
      transport: string,
    ): Promise<MovedAllocation | undefined>;
    takeReservation(owner: number, token: Buffer): Promise<{ address: string; port: number } | undefined>;
    bindConnection(owner: number, id: number, username: string): Promise<MessagePort | undefined>;
  };
}

const knownAttributeTypes = new Set<number>(Object.values(AttributeType));

/**
 * One relay thread's STUN/TURN server (RFC 8489, RFC 8656, RFC 6062, RFC 8016): its listeners, the allocations whose
 * client 5-tuples the kernel hands to it, their relay sockets and the data plane. What must hold for the whole server
 * (quotas, nonces, moves between threads) goes through its EngineContext. TurnServer runs one or several.
 */
export class TurnEngine extends EventEmitter<TurnServerEvents> implements MethodHost {
  readonly counters: TurnServerCounters = emptyCounters();
  private readonly sockets: Listeners;
  private readonly connections = new Set<Socket>();
  readonly allocations = new Map<string, Allocation>();
  /** Allocates still binding their relay port, by 5-tuple → transaction id, so a retransmission is not a new one. */
  readonly allocating = new Map<string, string>();
  /** The server's own listening endpoints ("ip|port"; "*|port" for a wildcard address): never a relay target. */
  private readonly ownEndpoints = new Set<string>();
  readonly tickets: Tickets;
  private readonly policy: PeerPolicy;
  readonly ports: RelayPorts;
  private readonly auth: Authenticator;
  readonly dataPlane: DataPlane;
  readonly tcpRelay: TcpRelay;
  private readonly software: string | undefined;
  /**
   * The TURN methods (RFC 8656, RFC 6062), each answered after authentication: the one place that lists them. A
   * method not here (other than Binding, answered before) gets 400.
   */
  private readonly turnMethods: Map<number, TurnMethodHandler>;
  private sweepTimer: NodeJS.Timeout | undefined;
  state: "idle" | "listening" | "closed" = "idle";

  constructor(
    readonly options: TurnServerOptions,
    readonly ctx: EngineContext,
  ) {
    super();
    this.software = options.software === false ? undefined : (options.software ?? "Parley TURN");
    this.dataPlane = new DataPlane(this.counters, options.fingerprint === true);
    this.auth = new Authenticator(
      options,
      {
        refuse: (msg, link, code, reason, opts) => this.refuse(msg, link, code, reason, opts),
        onFailure: (info) => this.emit("auth-failure", info),
        onRateLimited: () => this.counters.rateLimited++,
      },
      ctx.nonceSecret,
    );
    this.policy = new PeerPolicy({
      ...options.peerPolicy,
      ownAddresses: [...(options.listeningIps ?? ["127.0.0.1"]), ...(options.peerPolicy?.ownAddresses ?? [])],
    });
    this.ports = new RelayPorts(options.minPort ?? 49152, options.maxPort ?? 65535, ctx.worker);
    this.tickets = new Tickets(ctx.worker);
    this.sockets = new Listeners(options, {
      datagram: (data, from, via) => this.onDatagram(data, from, via),
      connection: (socket, transport) => this.onStreamConnection(socket, transport),
    });
    const elsewhere = ctx.elsewhere;
    this.tcpRelay = new TcpRelay({
      worker: ctx.worker,
      fingerprint: options.fingerprint === true,
      counters: this.counters,
      allocationFor: (link) => this.allocations.get(link.key),
      peerDenied: (peer, allocation) => this.peerDenied(peer, allocation, true),
      refuse: (msg, link, code, reason, reply) => this.refuse(msg, link, code, reason, reply),
      seal: (builder, reply) => this.seal(builder, reply),
      ...(elsewhere ? { bindElsewhere: (owner, id, username) => elsewhere.bindConnection(owner, id, username) } : {}),
    });
    this.turnMethods = new Map<number, TurnMethodHandler>([
      [StunMethod.Allocate, allocate(this)],
      [StunMethod.Refresh, refresh(this)],
      [StunMethod.CreatePermission, createPermission(this)],
      [StunMethod.ChannelBind, channelBind(this)],
      [StunMethod.Connect, this.tcpRelay.connect],
      [StunMethod.ConnectionBind, this.tcpRelay.connectionBind],
    ]);
  }

  /** Bound addresses once `listen()` resolved: UDP first, then TCP, then TLS. */
  get addresses(): BoundAddress[] {
    return this.sockets.addresses;
  }

  /** The effective peer policy in one line (the CLI logs it at start). */
  get peerPolicy(): string {
    return this.policy.describe();
  }

  get allocationCount(): number {
    return this.allocations.size;
  }

  /**
   * Opens the listeners: those the options ask for; with several relay threads, "first" opens them so and then
   * again with SO_REUSEPORT, and the other threads open exactly the `shared` addresses that gave.
   */
  async listen(shared?: BoundAddress[] | "first"): Promise<BoundAddress[]> {
    if (this.state !== "idle") throw new TurnError("CLOSED", `listen() called on a server that is ${this.state}`);
    this.state = "listening";
    try {
      if (shared === "first") await this.sockets.openFirst();
      else if (shared) await this.sockets.openShared(shared);
      else await this.sockets.open();
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
    return this.addresses;
  }

  /** Stops listening, deletes every allocation and closes every connection. Safe to call more than once. */
  async close(): Promise<void> {
    this.state = "closed";
    clearInterval(this.sweepTimer);
    for (const allocation of [...this.allocations.values()]) this.deleteAllocation(allocation, "closed");
    this.ports.close();
    for (const socket of this.connections) socket.destroy();
    this.connections.clear();
    await this.sockets.close();
  }

  // ---- other relay threads ----------------------------------------------------------------------------------------

  /**
   * RFC 8016: another thread got the ticket's Refresh from the client's new 5-tuple. The allocation leaves this
   * thread (its relay sockets closed, so that thread can bind the same ports) and its state goes there.
   */
  async giveAllocation(ticket: string, username: string, transport: string): Promise<MovedAllocation | undefined> {
    const allocation = this.tickets.find(ticket);
    if (!allocation || allocation.username !== username || allocation.link.transport !== transport) return undefined;
    if (allocation.relay.kind !== "udp" || allocation.peerConnections.size > 0) return undefined;
    const moved = snapshot(allocation);
    this.allocations.delete(allocation.link.key);
    this.tickets.forget(allocation);
    await allocation.closeRelays();
    return moved;
  }

  /** Another thread's Allocate carries one of our RESERVATION-TOKENs: free the reserved port for it. */
  giveReservation(token: Buffer): Promise<{ address: string; port: number } | undefined> {
    return this.ports.release(token);
  }

  /** Another thread got the ConnectionBind for one of our RFC 6062 peer connections. */
  bindConnection(id: number, username: string, port: MessagePort): boolean {
    return this.tcpRelay.bindFromElsewhere(id, username, port);
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
    openStreamLink(socket, transport, {
      counters: this.counters,
      maxBacklog: this.options.maxStreamBacklog ?? 1024 * 1024,
      setupTimeoutMs: this.options.streamSetupTimeoutMs ?? 30_000,
      channelData: (link, frame) => {
        const allocation = this.allocations.get(link.key);
        if (allocation) this.dataPlane.channelData(allocation, frame);
        else this.counters.dropped++;
      },
      stun: (frame, link) => this.onStun(frame, link),
      carriesAllocation: (link) => this.allocations.get(link.key)?.link === link,
      closed: (link) => {
        this.connections.delete(socket);
        // RFC 8656 §3.1: over TCP/TLS the allocation lives as long as the connection.
        const allocation = this.allocations.get(link.key);
        if (allocation) this.deleteAllocation(allocation, "closed");
      },
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

  // ---- helpers ----------------------------------------------------------------------------------------------------

  /**
   * Why `peer` may not be relayed to, or undefined. `withPort` for requests that name a port (ChannelBind, Connect):
   * the server's own listeners are refused whatever the policy allows — with --allow-loopback-peers the loopback
   * rule used to run first and let a client relay into the server itself.
   */
  async peerDenied(
    peer: TransportAddress,
    allocation: Allocation,
    withPort: boolean,
  ): Promise<{ code: number; reason: string } | undefined> {
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
    const permit = this.options.permit;
    if (permit && !(await permit({ address: peer.address, port: peer.port }, allocation.username))) {
      return deny("permit-hook", `peer ${peer.address} refused by the permit hook`);
    }
    return undefined;
  }

  private isOwnEndpoint(address: string, port: number): boolean {
    if (this.ownEndpoints.has(`*|${port}`)) return true;
    const plain = address.startsWith("::ffff:") ? address.slice(7) : address;
    return this.ownEndpoints.has(`${plain}|${port}`);
  }

  relayIpFor(family: 4 | 6): string | undefined {
    const candidates = this.options.relayIps ?? this.options.listeningIps ?? ["127.0.0.1"];
    return candidates.find((ip) => (family === 6 ? isIPv6(ip) : !isIPv6(ip)));
  }

  /**
   * RFC 8656 §7.2/§8.1: the requested LIFETIME, never below the default and never above the server maximum. A Refresh
   * asking for 0 deletes the allocation.
   */
  grantLifetime(msg: StunMessage, fallback: number): number {
    const requested = msg.get(AttributeType.Lifetime);
    const max = this.options.maxAllocateLifetime ?? 3600;
    const seconds = requested?.length === 4 ? requested.readUInt32BE(0) : fallback;
    if (seconds === 0 && msg.method === StunMethod.Refresh) return 0;
    return Math.min(Math.max(seconds, fallback), max);
  }

  deleteAllocation(allocation: Allocation, reason: string): void {
    if (this.allocations.get(allocation.link.key) !== allocation) return;
    this.allocations.delete(allocation.link.key);
    this.ctx.release(allocation.username);
    this.tickets.forget(allocation);
    this.tcpRelay.forget(allocation);
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

  info(allocation: Allocation): AllocationInfo {
    const { link, relay } = allocation;
    return {
      username: allocation.username,
      client: { transport: link.transport, address: link.remoteAddress, port: link.remotePort },
      relay: { address: relay.address, port: relay.port },
    };
  }

  seal(builder: MessageBuilder, reply: Reply): Buffer {
    if (this.software) builder.add(AttributeType.Software, Buffer.from(this.software));
    return builder.build({
      integrityKey: reply.sha256 ? undefined : reply.key,
      integritySha256Key: reply.sha256 ? reply.key : undefined,
      fingerprint: reply.fingerprint,
    });
  }

  refuse(
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
