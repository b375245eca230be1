// Peer connections do not depend on the signalling link (#15): while it is down, data keeps flowing. What happens
// when it comes back depends on whether the session survived (peer README, "When signalling goes away"):
// - a link outage (the server kept the session): the peer resumes it; same member ids, no renegotiation, no gap;
// - a restarted in-memory server (sessions lost): new member ids; each connection is renegotiated, with a gap.
import { createSignalServer, type SignalServer } from "@parley/signal";
import { afterEach, describe, expect, it } from "vitest";
import { startTcpProxy, type TcpProxy } from "../../signal/test/helpers/tcp-proxy.js";
import type { Peer, Room } from "../src/index.js";
import { loopbackPeer, until, waitFor } from "./helpers/room-fixture.js";

const NO_MEDIA = { receive: { audio: false, video: false } };
const FAST = { signal: { reconnect: { initialDelayMs: 50, maxDelayMs: 250 } } };
/** The sender sends a numbered message this often; a gap is the longest silence the receiver sees. */
const TICK_MS = 20;

let proxy: TcpProxy | undefined;
const servers: SignalServer[] = [];
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(port = 0): Promise<{ server: SignalServer; port: number }> {
  const created = createSignalServer({ drainMs: 0 });
  servers.push(created);
  return { server: created, port: await created.listen(port) };
}

/** `a` sends a counter on the room-wide channel "tick" every TICK_MS; returns what `b` received, with times. */
function ticker(ra: Room, rb: Room) {
  const arrivals: Array<{ n: number; at: number }> = [];
  rb.on("message", (_m, channel, data) => {
    if (channel.label === "tick") arrivals.push({ n: Number(data), at: Date.now() });
  });
  let n = 0;
  const timer = setInterval(() => void ra.send("tick", String(n++)).catch(() => {}), TICK_MS);
  /** The longest silence at the receiver between `from` and `to` (ms since the epoch). */
  const longestGap = (from: number, to: number) => {
    const times = [from, ...arrivals.map((a) => a.at).filter((t) => t > from && t < to), to];
    return Math.max(...times.slice(1).map((t, i) => t - times[i]!));
  };
  return { arrivals, longestGap, stop: () => clearInterval(timer) };
}

async function pairWithTicker(url: string): Promise<{ a: Peer; b: Peer; ra: Room; rb: Room }> {
  const a = await loopbackPeer(url, FAST);
  const b = await loopbackPeer(url, FAST);
  const ra = await a.join("r", NO_MEDIA);
  await ra.openChannel("tick");
  const rb = await b.join("r", NO_MEDIA);
  await until(() => ra.members.get(b.id)?.channel("tick")?.readyState === "open", 15_000, "tick channel");
  return { a, b, ra, rb };
}

describe("when signalling goes away", () => {
  it("a link outage: data flows on while it is down, then the peers resume with the same ids and no renegotiation", async () => {
    const { port } = await server();
    proxy = await startTcpProxy(port);
    const { a, b, ra, rb } = await pairWithTicker(`ws://127.0.0.1:${proxy.port}`);
    const ids = [a.id, b.id];
    const replaced: string[] = [];
    for (const p of [a, b]) p.on("session-replaced", (old) => replaced.push(old));
    const member = ra.members.get(b.id);
    const tick = ticker(ra, rb);
    const resumed = Promise.all([a, b].map((p) => waitFor<void>((r) => p.once("resumed", r), 15_000, "resumed")));
    proxy.refusing = true;
    proxy.cut();
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    expect(a.signal.connected || b.signal.connected).toBe(false);
    proxy.refusing = false;
    await resumed;
    await new Promise((r) => setTimeout(r, 500));
    tick.stop();
    const gap = tick.longestGap(downAt, Date.now());
    console.log(`signalling link down 3 s: longest data gap ${gap} ms`);
    expect(gap).toBeLessThan(1000);
    expect([a.id, b.id]).toEqual(ids);
    expect(replaced).toEqual([]);
    expect(ra.members.get(b.id)).toBe(member); // the same connection, not a new one
  });

  it("a restarted in-memory server: data flows on while it is down; back up, new sessions, each connection renegotiated", async () => {
    const first = await server();
    const { a, b, ra, rb } = await pairWithTicker(`ws://127.0.0.1:${first.port}`);
    const ids = [a.id, b.id];
    const tick = ticker(ra, rb);
    const replaced = Promise.all(
      [a, b].map((p) => waitFor<void>((r) => p.once("session-replaced", () => r()), 20_000, "session-replaced")),
    );
    servers.splice(servers.indexOf(first.server), 1);
    await first.server.close();
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    const upAt = Date.now();
    const downGap = tick.longestGap(downAt, upAt);
    await server(first.port);
    await replaced;
    expect(a.id).not.toBe(ids[0]);
    expect(b.id).not.toBe(ids[1]);
    // The room renegotiates with the new ids: the tick channel comes back by itself (room-wide channel).
    const before = tick.arrivals.length;
    await until(() => tick.arrivals.length > before + 5, 20_000, "ticks over the renegotiated connection");
    tick.stop();
    const backGap = tick.longestGap(upAt, Date.now());
    console.log(`server down 3 s: longest data gap while down ${downGap} ms; after restart ${backGap} ms`);
    expect(downGap).toBeLessThan(1000);
    expect(ra.members.has(b.id)).toBe(true);
    expect(ra.members.has(ids[1]!)).toBe(false);
  });
});
