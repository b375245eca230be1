import { randomBytes } from "node:crypto";
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import type { PeerAddress } from "./allocation.js";
import type { BoundAddress } from "./listeners.js";
import type { MovedAllocation } from "./mobility.js";
import type { Quotas } from "./quotas.js";
import { Rpc, Transfer } from "./rpc.js";
import type { TurnServerCounters, TurnServerOptions } from "./server.js";
import type { RelayThreadData } from "./worker.js";

interface RelayThread {
  worker: Worker;
  rpc: Rpc;
  counters: TurnServerCounters | undefined;
  startedAt: number;
}

/** A thread that dies sooner than this after it started is replaced only after RESPAWN_DELAY_MS: no crash loop. */
const QUICK_EXIT_MS = 5000;
const RESPAWN_DELAY_MS = 1000;

/** The relay thread's module: the compiled file, also when this one runs from TypeScript source (tests). */
function workerUrl(): URL {
  const here = new URL(import.meta.url);
  return here.pathname.endsWith(".ts") ? new URL("../../dist/server/worker.js", here) : new URL("./worker.js", here);
}

/**
 * N relay threads (worker_threads) on the same ports with SO_REUSEPORT: the kernel hashes each client 5-tuple to
 * one of them, and each runs a TurnEngine for the allocations it receives. This thread keeps what is global — the
 * quota ledger, the hooks, the events and counters — and routes the rare cross-thread requests: a mobility ticket,
 * a reservation token or an RFC 6062 CONNECTION-ID that names another thread. A thread that dies is replaced on
 * the same ports; its allocations are gone with it (as with a crashed coturn relay thread) and their quota
 * slots are given back.
 */
export class RelayThreads {
  private readonly threads: RelayThread[] = [];
  private readonly nonceSecret = randomBytes(32);
  private plan: BoundAddress[] = [];
  private closing = false;
  /** Relay threads replaced after they exited unexpectedly. */
  restarts = 0;

  constructor(
    private readonly options: TurnServerOptions,
    private readonly count: number,
    private readonly quotas: Quotas,
    private readonly emit: (name: string, info: unknown) => void,
  ) {}

  get addresses(): BoundAddress[] {
    return this.plan;
  }

  /** Counters per relay thread, as last reported (every second, or after `refresh`). */
  get counters(): Array<TurnServerCounters | undefined> {
    return this.threads.map((t) => t.counters);
  }

  /**
   * Starts the threads. The first one opens the listeners as the options say (so port 0 and address-in-use behave
   * as with one thread), closes them and reopens the same ports with SO_REUSEPORT; the others join those ports.
   */
  async start(): Promise<BoundAddress[]> {
    try {
      const first = this.spawn(0);
      this.plan = await first.rpc.call<BoundAddress[]>("listen", { plan: "first" });
      for (let i = 1; i < this.count; i++) await this.spawn(i).rpc.call("listen", { plan: this.plan });
      return this.plan;
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async refresh(): Promise<void> {
    await Promise.all(
      this.threads.map(async (t) => {
        t.counters = await t.rpc.call<TurnServerCounters>("counters", undefined).catch(() => t.counters);
      }),
    );
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.threads.map(async (t) => {
        await t.rpc.call("close", undefined).catch(() => {});
        await t.worker.terminate();
      }),
    );
  }

  private spawn(index: number): RelayThread {
    const { authenticate, permit, quota: _quota, ...plain } = this.options;
    const workerData: RelayThreadData = {
      index,
      options: plain,
      hooks: { authenticate: authenticate !== undefined, permit: permit !== undefined },
      nonceSecret: this.nonceSecret,
    };
    const worker = new Worker(workerUrl(), { workerData });
    const thread: RelayThread = {
      worker,
      rpc: undefined as unknown as Rpc,
      counters: undefined,
      startedAt: Date.now(),
    };
    thread.rpc = new Rpc(worker, {
      acquire: ({ username }: { username: string }) => this.quotas.acquire(username, index),
      release: ({ username }: { username: string }) => this.quotas.release(username, index),
      events: (batch: Array<[string, unknown]>) => {
        for (const [name, info] of batch) this.emit(name, info);
      },
      counters: (counters: TurnServerCounters) => {
        thread.counters = counters;
      },
      authenticate: (a: { username: string; realm: string; algorithm: "md5" | "sha256" }) =>
        authenticate?.(a.username, a.realm, a.algorithm) ?? [],
      permit: (a: { peer: PeerAddress; username: string }) => permit?.(a.peer, a.username) ?? true,
      takeAllocation: async (a: { owner: number; ticket: string; username: string; transport: string }) => {
        const moved = await this.at(a.owner)?.rpc.call<MovedAllocation | undefined>("giveAllocation", a);
        if (moved) this.quotas.transfer(moved.username, a.owner, index);
        return moved;
      },
      takeReservation: (a: { owner: number; token: Uint8Array }) => this.at(a.owner)?.rpc.call("giveReservation", a),
      bindConnection: async (a: { owner: number; id: number; username: string }) => {
        const owner = this.at(a.owner);
        if (!owner) return undefined;
        const { port1, port2 } = new MessageChannel();
        const ok = await owner.rpc
          .call<boolean>("bindConnection", { id: a.id, username: a.username, port: port1 }, [port1])
          .catch(() => false);
        if (!ok) {
          port2.close();
          return undefined;
        }
        return new Transfer<MessagePort>(port2, [port2]);
      },
    });
    let failure: string | undefined;
    worker.on("error", (err) => {
      failure = err.message;
    });
    worker.once("exit", (code) => this.exited(index, thread, failure ?? `exited with code ${code}`));
    this.threads[index] = thread;
    return thread;
  }

  /** A thread ended. Unless the server is closing, its slots are given back and a new thread takes its place. */
  private exited(index: number, thread: RelayThread, reason: string): void {
    thread.rpc.failAll(`relay thread ${index} exited`);
    if (this.closing || this.threads[index] !== thread) return;
    this.quotas.releaseWorker(index);
    this.restarts++;
    this.emit("relay-thread-error", { thread: index, message: reason });
    const replace = () => {
      if (this.closing) return;
      const replacement = this.spawn(index);
      replacement.rpc.call("listen", { plan: this.plan }).catch((err: Error) => {
        this.emit("relay-thread-error", { thread: index, message: `cannot replace: ${err.message}` });
      });
    };
    if (Date.now() - thread.startedAt < QUICK_EXIT_MS) setTimeout(replace, RESPAWN_DELAY_MS).unref();
    else replace();
  }

  private at(index: number): RelayThread | undefined {
    return Number.isInteger(index) && index >= 0 && index < this.count ? this.threads[index] : undefined;
  }
}
