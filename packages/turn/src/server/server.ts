import type { TlsOptions } from "node:tls";
import { EventEmitter } from "eventemitter3";
import type { Authenticate } from "../auth/credentials.js";
import { TurnError } from "../errors.js";
import type { PeerAddress } from "./allocation.js";
import { emptyCounters, sumCounters, type TurnServerCounters } from "./counters.js";
import { TurnEngine } from "./engine.js";
import type { BoundAddress } from "./listeners.js";
import { validateOptions } from "./options.js";
import { PeerPolicy, type PeerPolicyOptions, type PeerRule } from "./peer-policy.js";
import { Quotas } from "./quotas.js";
import { RelayThreads } from "./relay-threads.js";

export type { TurnServerCounters } from "./counters.js";

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
  /**
   * Hook: may this user relay to this peer? Runs after the built-in peer policy. May return a promise. With several
   * relay threads it runs in the thread that created the server, like every hook.
   */
  permit?: (peer: PeerAddress, username: string) => boolean | Promise<boolean>;
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
  /**
   * Relay threads (coturn's --relay-threads): N worker threads on the same ports with SO_REUSEPORT, the kernel
   * keeping each client 5-tuple on one of them. Quotas, nonces, mobility, reservations, RFC 6062 connections,
   * events and counters hold for the whole server. Needs Node ≥ 22.12 on Linux or FreeBSD; elsewhere the server
   * runs one thread and says so in `threadNotice`. Default 1 for the library (the CLI defaults to the core count).
   */
  relayThreads?: number;
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
  /** A relay thread failed (it is replaced on the same ports; the allocations it held are gone). */
  "relay-thread-error": (info: { thread: number; message: string }) => void;
}

/** Every event a TurnServer emits: relay threads forward exactly these. */
export const TURN_SERVER_EVENTS = [
  "allocation-created",
  "allocation-refreshed",
  "allocation-moved",
  "allocation-deleted",
  "permission",
  "channel",
  "auth-failure",
  "rejected",
  "peer-denied",
] as const satisfies ReadonlyArray<keyof TurnServerEvents>;

/** SO_REUSEPORT for dgram and net arrived in Node 22.12; the kernel spreads a port's load on Linux and FreeBSD. */
function reusePortSupport(): string | undefined {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  if (major < 22 || (major === 22 && minor < 12)) return `Node ${process.versions.node} has no reusePort (22.12+)`;
  if (process.platform !== "linux" && process.platform !== "freebsd")
    return `${process.platform} does not spread one port's traffic over SO_REUSEPORT sockets`;
  return undefined;
}

/**
 * A STUN/TURN server (RFC 8489, RFC 8656, RFC 6062, RFC 8016) over UDP, TCP and TLS, embeddable with hooks: one
 * TurnEngine in this thread, or `relayThreads` of them in worker threads sharing the listening ports.
 */
export class TurnServer extends EventEmitter<TurnServerEvents> {
  /** Relay threads actually running (1 where SO_REUSEPORT is missing, see `threadNotice`). */
  readonly relayThreads: number;
  /** Why fewer relay threads run than were asked for, or undefined. The CLI logs it at start. */
  readonly threadNotice: string | undefined;
  private readonly quotas: Quotas;
  private readonly policy: PeerPolicy;
  private readonly engine: TurnEngine | undefined;
  private readonly threads: RelayThreads | undefined;
  private state: "idle" | "listening" | "closed" = "idle";

  constructor(options: TurnServerOptions = {}) {
    super();
    validateOptions(options);
    const requested = options.relayThreads ?? 1;
    const missing = requested > 1 ? reusePortSupport() : undefined;
    this.relayThreads = missing ? 1 : requested;
    this.threadNotice = missing && `relay threads: 1 of the ${requested} asked for (${missing})`;
    this.quotas = new Quotas(options.userQuota ?? 0, options.totalQuota ?? 0, options.quota);
    this.policy = new PeerPolicy({
      ...options.peerPolicy,
      ownAddresses: [...(options.listeningIps ?? ["127.0.0.1"]), ...(options.peerPolicy?.ownAddresses ?? [])],
    });
    const emit = (name: string, info: unknown) => this.emit(name as keyof TurnServerEvents, info as never);
    if (this.relayThreads === 1) {
      this.engine = new TurnEngine(options, {
        worker: 0,
        acquire: (username) => this.quotas.acquire(username),
        release: (username) => this.quotas.release(username),
      });
      for (const name of TURN_SERVER_EVENTS) this.engine.on(name, (info: unknown) => emit(name, info));
    } else {
      this.threads = new RelayThreads(options, this.relayThreads, this.quotas, emit);
    }
  }

  /** Bound addresses once `listen()` resolved: UDP first, then TCP, then TLS. */
  get addresses(): BoundAddress[] {
    return this.engine ? this.engine.addresses : (this.threads?.addresses ?? []);
  }

  /** The effective peer policy in one line (the CLI logs it at start). */
  get peerPolicy(): string {
    return this.policy.describe();
  }

  /** Allocations now (with several threads: including Allocates still binding their relay port). */
  get allocationCount(): number {
    return this.engine ? this.engine.allocationCount : this.quotas.total;
  }

  /**
   * The server's counts. In one thread they are live; relay threads report theirs every second, so call
   * `refreshCounters()` first for an exact reading.
   */
  get counters(): TurnServerCounters {
    return sumCounters(this.threadCounters);
  }

  /** The counts of each relay thread (one entry with one thread), for per-thread metrics. */
  get threadCounters(): TurnServerCounters[] {
    if (this.engine) return [this.engine.counters];
    return (this.threads?.counters ?? []).map((c) => c ?? emptyCounters());
  }

  /** Relay threads replaced after they exited unexpectedly. */
  get threadRestarts(): number {
    return this.threads?.restarts ?? 0;
  }

  /** Asks every relay thread for its counts now (a no-op with one thread, whose counts are always current). */
  async refreshCounters(): Promise<void> {
    await this.threads?.refresh();
  }

  async listen(): Promise<this> {
    if (this.state !== "idle") throw new TurnError("CLOSED", `listen() called on a server that is ${this.state}`);
    this.state = "listening";
    if (this.engine) await this.engine.listen();
    else await this.threads?.start();
    return this;
  }

  /** Stops listening, deletes every allocation and closes every connection. Safe to call more than once. */
  async close(): Promise<void> {
    this.state = "closed";
    if (this.engine) await this.engine.close();
    else await this.threads?.close();
  }
}

export function createTurnServer(options: TurnServerOptions = {}): TurnServer {
  return new TurnServer(options);
}
