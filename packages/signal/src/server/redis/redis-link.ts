import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { SCRIPTS, type ScriptName, scriptSource } from "./scripts.js";

/** How often a node beats and sweeps expired sessions. */
export const HEARTBEAT_MS = 1000;
/** A node silent this long is taken for dead: its sessions get their resume window from its last heartbeat. */
export const DEAD_AFTER_MS = 5000;
/**
 * After (re)connecting to Redis a node waits this long before it declares other nodes dead or ends expired sessions:
 * while Redis was down nobody could beat or resume, so old timestamps say nothing about who is alive.
 */
export const GRACE_MS = 10_000;
/** Entries a node's delivery stream keeps when its node lags (approximate, as XADD MAXLEN ~). */
const NODE_STREAM_MAX = 100_000;

export type StreamEntry =
  | { session: string; seq: number; text: string }
  | { session: string; control: string; epoch: string };

export interface RedisLinkOptions {
  url: string;
  prefix: string;
  outboxMessages: number;
  resumeWindowMs: number;
  /** Entries read from this node's delivery stream, in order. */
  onEntry: (entry: StreamEntry) => void;
  /** This node had been taken for dead while it was still running (a long pause, a partition). */
  onDeclaredDead: () => void;
  onError: (err: Error) => void;
}

/** Thrown for commands that could not run because Redis is unreachable. */
export class RedisUnavailable extends Error {
  override readonly name = "RedisUnavailable";
}

/**
 * The connections to Redis: one for commands (scripts, pipelined in order), one blocked reading this node's delivery
 * stream. Commands fail at once while Redis is unreachable (no offline queue) and are never re-sent by the client
 * library after a reconnect: a script that may or may not have run is the caller's to retry, with the request id
 * that makes the retry harmless.
 */
export class RedisLink {
  readonly node = randomUUID();
  private readonly commands: Redis;
  private readonly reader: Redis;
  private readonly header: string[];
  private lastId = "0-0";
  private closed = false;
  private readyAt: number | undefined;
  private beatTimer: NodeJS.Timeout | undefined;
  private readonly readLoop: Promise<void>;

  constructor(private readonly options: RedisLinkOptions) {
    const settings = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectionName: `parley-signal-${this.node}`,
      retryStrategy: (times: number) => Math.min(50 * times, 1000),
      lazyConnect: false,
    };
    this.commands = new Redis(options.url, settings);
    this.reader = new Redis(options.url, settings);
    for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
      // defineCommand sends EVALSHA and falls back to EVAL when Redis lost its script cache (a restart).
      this.commands.defineCommand(name, { numberOfKeys: 0, lua: scriptSource(name) });
    }
    this.commands.on("ready", () => {
      this.readyAt = Date.now();
      void this.beat();
    });
    this.commands.on("close", () => {
      this.readyAt = undefined;
    });
    // ioredis reports every failed reconnect attempt; the state is visible through `available`.
    this.commands.on("error", () => {});
    this.reader.on("error", () => {});
    this.header = [options.prefix, String(options.outboxMessages), String(NODE_STREAM_MAX)];
    this.readLoop = this.read();
    this.beatTimer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.beatTimer.unref();
  }

  /** Whether commands can be sent now. */
  get available(): boolean {
    return this.readyAt !== undefined;
  }

  /** Resolves once connected (or after `timeoutMs`, whichever first); true if connected. */
  async ready(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.available && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.available;
  }

  /** Runs one script with the shared header; Redis being unreachable is RedisUnavailable. */
  async run(name: ScriptName, ...args: Array<string | number>): Promise<unknown> {
    const command = (this.commands as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name]!;
    try {
      return await command.call(this.commands, ...this.header, ...args.map(String));
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      // Script errors are bugs and say so; everything else means the command did not (surely) run.
      if (/^ERR .*script|user_script/i.test(message)) throw err;
      throw new RedisUnavailable(message);
    }
  }

  /** Read-only helpers for the admin API. */
  async roomNames(limit: number): Promise<string[]> {
    // SSCAN returns one page per call (a page may even be empty): follow the cursor until the set or the limit ends.
    const names: string[] = [];
    let cursor = "0";
    do {
      const [next, page] = await this.commands.sscan(`${this.options.prefix}rooms`, cursor, "COUNT", 1000);
      names.push(...page);
      cursor = next;
    } while (cursor !== "0" && names.length < limit);
    return names.slice(0, limit);
  }

  async roomSize(room: string): Promise<number> {
    return this.commands.hlen(`${this.options.prefix}r:${room}`);
  }

  async roomMembers(room: string): Promise<string[]> {
    return this.commands.hvals(`${this.options.prefix}r:${room}`);
  }

  /** Stops beating and reading; the node leaves the heartbeat set if Redis can be reached. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.beatTimer);
    try {
      if (this.available) await this.run("retire", this.node, this.options.resumeWindowMs);
    } catch {
      // Unreachable: the other nodes will take this one for dead, as if it had crashed.
    }
    this.reader.disconnect();
    await this.readLoop;
    await this.commands.quit().catch(() => this.commands.disconnect());
  }

  private async beat(): Promise<void> {
    if (!this.available || this.readyAt === undefined) return;
    const settled = Date.now() - this.readyAt > GRACE_MS;
    try {
      const [, fresh] = (await this.run(
        "reap",
        this.node,
        DEAD_AFTER_MS,
        settled ? 1 : 0,
        this.options.resumeWindowMs,
        settled ? 1 : 0,
      )) as [number, number];
      // The first beat adds this node; a later one that adds it again means others had taken it for dead.
      if (fresh === 1 && this.beaten) this.options.onDeclaredDead();
      this.beaten = true;
      await this.commands.xtrim(`${this.options.prefix}n:${this.node}`, "MINID", this.lastId);
    } catch (err) {
      if (!(err instanceof RedisUnavailable)) this.options.onError(err as Error);
    }
  }

  private beaten = false;

  private async read(): Promise<void> {
    const key = `${this.options.prefix}n:${this.node}`;
    while (!this.closed) {
      let reply: Array<[string, Array<[string, string[]]>]> | null;
      try {
        reply = (await this.reader.xread("COUNT", 1000, "BLOCK", 2000, "STREAMS", key, this.lastId)) as typeof reply;
      } catch {
        if (!this.closed) await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      for (const [, entries] of reply ?? []) {
        for (const [id, fields] of entries) {
          this.lastId = id;
          const entry = parseEntry(fields);
          if (entry) this.options.onEntry(entry);
        }
      }
    }
  }
}

function parseEntry(fields: string[]): StreamEntry | undefined {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  if (f.s === undefined) return undefined;
  if (f.k !== undefined) return { session: f.s, control: f.k, epoch: f.c ?? "" };
  if (f.q === undefined || f.m === undefined) return undefined;
  return { session: f.s, seq: Number(f.q), text: f.m };
}
