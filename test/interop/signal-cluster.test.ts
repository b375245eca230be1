// parley-signal as a cluster: three processes (`parley-signal --redis`) on one real redis-server, each behind a TCP
// proxy so a test can cut client links the way a network does. The proofs README's "Running several nodes" rests
// on: a chaos run (cuts every 200 ms, a node SIGKILLed, Redis restarted) that loses and repeats nothing, a rolling
// restart that replaces no session, and no ghosts from a dead node.
import { fileURLToPath } from "node:url";
import { SignalClient } from "@parley/signal";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { nextEvent } from "../../packages/signal/test/helpers/events.js";
import { type RedisServer, startRedis } from "../../packages/signal/test/helpers/redis-server.js";
import { startTcpProxy, type TcpProxy } from "../../packages/signal/test/helpers/tcp-proxy.js";
import { freePort } from "../helpers/ports.js";
import { type RunningProgram, startProgram } from "../helpers/programs.js";
import { hasTool } from "../helpers/require-tool.js";

const cli = fileURLToPath(new URL("../../packages/signal/dist/cli/signal-server.js", import.meta.url));
const RESUME_WINDOW_MS = 15_000;

let redis: RedisServer;
let keyspace = 0;

const run = hasTool("redis");

beforeAll(async () => {
  if (run) redis = await startRedis();
}, 30_000);
afterAll(async () => {
  await redis?.stop();
});

interface Node {
  port: number;
  proxy: TcpProxy;
  program: RunningProgram;
  url: string;
}

interface Cluster {
  nodes: Node[];
  prefix: string;
  /** Starts (or starts again) node i on its port. */
  start(i: number): Promise<void>;
  close(): Promise<void>;
}

const clients: SignalClient[] = [];
let cluster: Cluster | undefined;

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await cluster?.close();
  cluster = undefined;
});

async function startCluster(size: number, resumeWindowMs = RESUME_WINDOW_MS): Promise<Cluster> {
  const prefix = `c${process.pid}-${keyspace++}:`;
  const nodes: Node[] = [];
  const launch = (port: number) =>
    startProgram({
      name: `parley-signal :${port}`,
      command: process.execPath,
      args: [
        cli,
        ...["--port", String(port), "--host", "127.0.0.1", "--redis", redis.url, "--redis-prefix", prefix],
        ...["--resume-window", String(resumeWindowMs), "--messages-per-second", "100000"],
        // Senders here outpace receivers that are away half the time (a cut every 200 ms): room for a backlog.
        ...["--outbox-messages", "10000"],
      ],
      readyLine: /parley-signal ready on .* on Redis\)/,
    });
  for (let i = 0; i < size; i++) {
    const port = await freePort();
    const proxy = await startTcpProxy(port);
    nodes.push({ port, proxy, program: await launch(port), url: `ws://127.0.0.1:${proxy.port}` });
  }
  return {
    nodes,
    prefix,
    async start(i) {
      nodes[i]!.program = await launch(nodes[i]!.port);
    },
    async close() {
      for (const node of nodes) {
        await node.program.stop();
        await node.proxy.close();
      }
    },
  };
}

/** A client whose URL list starts at node `i` and goes round the others (failover in order). */
async function client(c: Cluster, i: number): Promise<SignalClient> {
  const urls = c.nodes.map((_, k) => c.nodes[(i + k) % c.nodes.length]!.url);
  const created = await SignalClient.connect(urls, {
    reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
    requestTimeoutMs: 60_000,
    heartbeatMs: 2000,
  });
  clients.push(created);
  return created;
}

interface Pair {
  from: SignalClient;
  to: SignalClient;
  got: number[];
}

/** Sends `count` numbered signals from each pair's sender, up to `window` unanswered at a time. */
async function pump(pairs: Pair[], count: number, window = 64): Promise<void> {
  await Promise.all(
    pairs.map(async ({ from, to }) => {
      const inFlight = new Set<Promise<void>>();
      for (let n = 0; n < count; n++) {
        const sent = from.signal("r", to.sessionId, "candidate", { n }).finally(() => inFlight.delete(sent));
        inFlight.add(sent);
        if (inFlight.size >= window) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    }),
  );
}

async function pairsAcross(c: Cluster, count: number): Promise<{ pairs: Pair[]; replaced: string[] }> {
  const replaced: string[] = [];
  const pairs: Pair[] = [];
  for (let k = 0; k < count; k++) {
    const from = await client(c, k % c.nodes.length);
    const to = await client(c, (k + 1) % c.nodes.length);
    const got: number[] = [];
    to.on("signal", (m) => got.push((m.payload as { n: number }).n));
    for (const x of [from, to]) x.on("session-replaced", (old) => replaced.push(old));
    pairs.push({ from, to, got });
  }
  await Promise.all(pairs.flatMap(({ from, to }) => [from.join("r"), to.join("r")]));
  return { pairs, replaced };
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.runIf(run)("parley-signal cluster on Redis (three processes)", () => {
  it("chaos: 10,000 cross-node signals while links are cut every 200 ms, a node is SIGKILLed and Redis restarts → 0 lost, 0 repeated, in order", async () => {
    cluster = await startCluster(3);
    const c = cluster;
    const { pairs, replaced } = await pairsAcross(c, 4);
    let cutCount = 0;
    const cuts = setInterval(() => {
      cutCount++;
      for (const node of c.nodes) node.proxy.cut();
    }, 200);
    const delivered = () => pairs.reduce((n, p) => n + p.got.length, 0);
    let pumped = false;
    const chaosAt: number[] = [];
    // The node dies a third of the way through, Redis restarts two thirds through: both while signals flow.
    const chaos = (async () => {
      await waitFor(() => delivered() >= 3333, 60_000, "a third delivered");
      chaosAt.push(delivered());
      c.nodes[1]!.program.process.kill("SIGKILL");
      await waitFor(() => delivered() >= 6666, 60_000, "two thirds delivered");
      chaosAt.push(delivered());
      await redis.restart(500);
    })();
    try {
      await pump(pairs, 2500);
      pumped = true;
      await chaos;
    } finally {
      clearInterval(cuts);
    }
    expect(chaosAt.every((n) => n < 10_000)).toBe(true);
    expect(cutCount).toBeGreaterThan(5);
    expect(pumped).toBe(true);
    const expected = Array.from({ length: 2500 }, (_, n) => n);
    await waitFor(() => pairs.every((p) => p.got.length >= 2500), 20_000, "every signal delivered").catch((e) => {
      // What each receiver has, for the CI log: how far it got and whether it is connected.
      for (const p of pairs) console.log(`receiver: ${p.got.length} signals, connected ${p.to.connected}`);
      throw e;
    });
    await Promise.all(pairs.map((p) => p.to.ping()));
    for (const p of pairs) expect(p.got).toEqual(expected);
    expect(replaced).toEqual([]);
  }, 180_000);

  it("a rolling restart of every node under load (SIGTERM, start again) replaces no session and loses nothing", async () => {
    cluster = await startCluster(3);
    const c = cluster;
    const { pairs, replaced } = await pairsAcross(c, 3);
    let stop = false;
    const load = (async () => {
      let rounds = 0;
      while (!stop) {
        await pump(pairs, 50, 16).then(() => rounds++);
        for (const p of pairs) p.got.push(-1); // round marker (not sent): keeps rounds apart below
      }
      return rounds;
    })();
    for (let i = 0; i < c.nodes.length; i++) {
      await new Promise((r) => setTimeout(r, 700));
      await c.nodes[i]!.program.stop();
      await c.start(i);
    }
    await new Promise((r) => setTimeout(r, 700));
    stop = true;
    const rounds = await load;
    expect(rounds).toBeGreaterThan(3);
    const expected = Array.from({ length: 50 }, (_, n) => n);
    await waitFor(
      () => pairs.every((p) => p.got.filter((n) => n >= 0).length >= rounds * 50),
      30_000,
      "every signal delivered",
    );
    for (const p of pairs) {
      // Signals of a round are all delivered before the next round starts (its sends awaited their acks) — but a
      // marker is pushed locally when the round's acks are in, which can come before the last delivery. Compare the
      // numbers alone, round by round.
      const numbers = p.got.filter((n) => n >= 0);
      for (let r = 0; r < rounds; r++) expect(numbers.slice(r * 50, r * 50 + 50)).toEqual(expected);
      expect(numbers.length).toBe(rounds * 50);
    }
    expect(replaced).toEqual([]);
  }, 180_000);

  it("members held by a SIGKILLed node that nobody resumes leave their rooms within the resume window plus a few seconds", async () => {
    const windowMs = 3000;
    cluster = await startCluster(2, windowMs);
    const c = cluster;
    const watcher = await client(c, 0);
    await watcher.join("r");
    // A client that will not come back: no reconnect, held by node 1.
    const ghost = await SignalClient.connect(c.nodes[1]!.url, { reconnect: false });
    clients.push(ghost);
    const seen = nextEvent(watcher, "member-joined", 5000);
    await ghost.join("r");
    await seen;
    const left = new Promise<number>((resolve) =>
      watcher.on("member-left", (_room, id) => id === ghost.sessionId && resolve(Date.now())),
    );
    // Nodes only declare others dead after 10 s connected to Redis (see redis-link.ts GRACE_MS); let them settle.
    await new Promise((r) => setTimeout(r, 10_000));
    const killedAt = Date.now();
    c.nodes[1]!.program.process.kill("SIGKILL");
    const elapsed = (await left) - killedAt;
    console.log(`member-left for a dead node's member ${elapsed} ms after SIGKILL (resume window ${windowMs} ms)`);
    // Declared dead after 5 s of silence; its sessions' window counts from its last heartbeat.
    expect(elapsed).toBeLessThan(windowMs + 8000);
    expect(watcher.rooms.get("r")!.members.has(ghost.sessionId)).toBe(false);
  }, 60_000);
});
