// werift uses only the first TURN URL it is given. Parley honours every configured one. With relay-only ICE and a
// first TURN URL that answers nothing, two bots still connect through the second (TURN over TCP): by default because
// the peer asks each TURN URL first (one Allocate, deleted at once) and starts on one that answers; with that
// preflight off, by failing over from plan to plan with ICE restarts — the path a connection takes when its TURN
// server dies mid-call.
import { Peer, type PeerOptions } from "@parley/peer";
import { createSignalServer, type SignalServer } from "@parley/signal";
import { createTurnServer, type TurnServer } from "@parley/turn";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { freePort } from "../helpers/ports.js";
import { twoTurnServers } from "../helpers/turn-failover.js";

let turn: TurnServer;
let signal: SignalServer;
let url: string;
const peers: Peer[] = [];

beforeAll(async () => {
  turn = await createTurnServer({
    listeningIps: ["127.0.0.1"],
    listeningPort: 0,
    authSecrets: ["fallback-secret"],
    peerPolicy: { allowLoopback: true },
  }).listen();
  const tcpPort = turn.addresses.find((a) => a.transport === "tcp")!.port;
  const deadPort = await freePort(); // nothing listens here
  signal = createSignalServer({
    turn: {
      secret: "fallback-secret",
      urls: [`turn:127.0.0.1:${deadPort}?transport=udp`, `turn:127.0.0.1:${tcpPort}?transport=tcp`],
    },
  });
  url = `ws://127.0.0.1:${await signal.listen(0)}`;
});
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.close()));
});
afterAll(async () => {
  await signal?.close();
  await turn?.close();
});

/** Two relay-only bots in `room`, connected with a channel "c" open: both rooms, and every connection state b saw. */
async function pair(room: string, extra: PeerOptions) {
  const options: PeerOptions = { iceTransportPolicy: "relay", connectTimeoutMs: 4000, ...extra };
  const a = await Peer.connect(url, options);
  const b = await Peer.connect(url, options);
  peers.push(a, b);
  const ra = await a.join(room, { receive: { audio: false, video: false } });
  await ra.openChannel("c");
  const rb = await b.join(room, { receive: { audio: false, video: false } });
  const states: string[] = [];
  rb.on("connection-state", (_m, state) => states.push(state));
  const member = rb.members.get(a.id)!;
  await expect.poll(() => member.connectionState, { timeout: 90_000, interval: 250 }).toBe("connected");
  await expect.poll(() => member.channel("c")?.readyState, { timeout: 30_000 }).toBe("open");
  const stats = await member.stats();
  expect(stats.localCandidateType).toBe("relay");
  expect(turn.counters.relayedToPeer).toBeGreaterThan(0);
  return { states, ra, rb, a, b };
}

it("starts on the TURN URL that answers, so the first attempt connects", async () => {
  const { states } = await pair("preflight", {});
  expect(states).not.toContain("failed"); // no plan was tried and abandoned on the way
  // Two probes per bot's preflight allocated and deleted; only the two connections' allocations remain.
  await expect.poll(() => turn.allocationCount, { timeout: 5000 }).toBe(2);
});

it("fails over to the second TURN URL with ICE restarts when the preflight is off", async () => {
  const { states } = await pair("failover", { turnPreflightMs: 0 });
  expect(states).toContain("failed"); // the dead first plan was tried
});

it("both ends restarting ICE at the same moment settle on one restart without failing (relay-only)", async () => {
  // What happens when both ends take a path for dead at once and neither waits for the other: their restart offers
  // cross and the polite end yields. The impolite end must not let the yielded offer's end-of-candidates end the
  // candidates of the answer it gets next: it did, ICE failed at once, and the call stayed down. Relay-only, so no
  // peer-reflexive candidate learnt from the polite end's checks can hide it.
  const { ra, rb, a, b } = await pair("collide", {});
  const ends = [rb.members.get(a.id)!, ra.members.get(b.id)!];
  const ufrags = () => ends.map((m) => /a=ice-ufrag:(\S+)/.exec(m.pc.localDescription!.sdp)![1]);
  const before = ufrags();
  const states: string[] = [];
  for (const end of ends) end.on("connection-state", (state) => states.push(state));
  for (const end of ends) end.restartIce();
  await expect
    .poll(() => ufrags().every((u, i) => u !== before[i]) && ends.every((m) => m.pc.signalingState === "stable"), {
      timeout: 15_000,
    })
    .toBe(true);
  await expect.poll(() => ends.map((m) => m.connectionState), { timeout: 15_000 }).toEqual(["connected", "connected"]);
  const got = new Promise<string>((resolve) => rb.once("message", (_m, _c, data) => resolve(String(data))));
  await ra.send("c", "after both restarted");
  expect(await got).toBe("after both restarted");
  expect(states).not.toContain("failed");
});

it("moves a live call to the next TURN server when its server dies: data flows again within 5 s", async () => {
  // Two live TURN servers; the bots start on the first (the preflight orders them as configured) and it is then
  // closed mid-call, as a crashed or drained TURN server would be.
  const { first, second, signal: live, url: liveUrl } = await twoTurnServers("failover-secret");
  try {
    const options: PeerOptions = { iceTransportPolicy: "relay" };
    const a = await Peer.connect(liveUrl, options);
    const b = await Peer.connect(liveUrl, options);
    peers.push(a, b);
    const ra = await a.join("failover-live", { receive: { audio: false, video: false } });
    await ra.openChannel("tick");
    const rb = await b.join("failover-live", { receive: { audio: false, video: false } });
    const arrivals: number[] = [];
    rb.on("message", () => arrivals.push(Date.now()));
    await expect.poll(() => [...ra.members.values()][0]?.channel("tick")?.readyState, { timeout: 30_000 }).toBe("open");
    const ticker = setInterval(() => void ra.send("tick", "t").catch(() => {}), 20);
    // Which ends restart ICE themselves (the follower's restart comes with the leader's offer, not from restartIce).
    const restartedBy: string[] = [];
    for (const [peer, room] of [
      [a, ra],
      [b, rb],
    ] as const) {
      const member = [...room.members.values()][0]!;
      const restartIce = member.pc.restartIce.bind(member.pc);
      member.pc.restartIce = () => {
        restartedBy.push(member.polite ? `${peer.id} (polite)` : `${peer.id} (impolite)`);
        restartIce();
      };
    }
    try {
      await expect.poll(() => arrivals.length, { timeout: 10_000 }).toBeGreaterThan(20);
      expect(first.allocationCount).toBeGreaterThan(0);
      const killedAt = Date.now();
      await first.close();
      const resumed = () => arrivals.find((t) => t > killedAt + 100);
      await expect.poll(resumed, { timeout: 30_000, interval: 100 }).toBeDefined();
      const gap = resumed()! - killedAt;
      console.log(`TURN failover: data flowed again ${gap} ms after the first TURN server died`);
      expect(second.allocationCount).toBeGreaterThan(0);
      expect(gap).toBeLessThan(5000);
      // One end led and the other followed: a second restart (the polite end not waiting for the lead) would cross
      // the first and cost another interruption. Its timer would have run out by now.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(restartedBy).toHaveLength(1);
      expect(restartedBy[0]).toMatch(/\(impolite\)$/);
    } finally {
      clearInterval(ticker);
    }
  } finally {
    await live.close();
    await second.close();
  }
});

it("reports CONNECTION_FAILED once when its only TURN server is gone, keeps trying, and comes back with the server", async () => {
  const secret = "outage-secret";
  const start = (port: number) =>
    createTurnServer({
      listeningIps: ["127.0.0.1"],
      listeningPort: port,
      authSecrets: [secret],
      peerPolicy: { allowLoopback: true },
    }).listen();
  let server = await start(0);
  const port = server.addresses.find((a) => a.transport === "udp")!.port;
  const outage = createSignalServer({ turn: { secret, urls: [`turn:127.0.0.1:${port}?transport=udp`] } });
  try {
    const outageUrl = `ws://127.0.0.1:${await outage.listen(0)}`;
    const options: PeerOptions = { iceTransportPolicy: "relay", connectTimeoutMs: 2000, maxRestarts: 2 };
    const a = await Peer.connect(outageUrl, options);
    const b = await Peer.connect(outageUrl, options);
    peers.push(a, b);
    const ra = await a.join("outage", { receive: { audio: false, video: false } });
    await ra.openChannel("tick");
    const rb = await b.join("outage", { receive: { audio: false, video: false } });
    const errors: string[] = [];
    for (const room of [ra, rb]) room.on("error", (err) => errors.push(`${err.code}: ${err.message}`));
    const arrivals: number[] = [];
    rb.on("message", () => arrivals.push(Date.now()));
    await expect.poll(() => [...ra.members.values()][0]?.channel("tick")?.readyState, { timeout: 30_000 }).toBe("open");
    const ticker = setInterval(() => void ra.send("tick", "t").catch(() => {}), 50);
    try {
      await expect.poll(() => arrivals.length, { timeout: 10_000 }).toBeGreaterThan(10);
      await server.close();
      // Two quick restarts fail (2 s each): the outage is reported, once per end at most.
      await expect.poll(() => errors.length, { timeout: 30_000, interval: 250 }).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 6000));
      expect(errors.every((e) => e.startsWith("CONNECTION_FAILED"))).toBe(true);
      expect(errors.length).toBeLessThanOrEqual(2);
      // The server comes back on its port; a later restart (every 5, 10, 20 … s) finds it without help.
      const backAt = Date.now();
      server = await start(port);
      await expect.poll(() => arrivals.at(-1)! > backAt, { timeout: 60_000, interval: 250 }).toBe(true);
      console.log(
        `TURN outage: data flowed again ${arrivals.find((t) => t > backAt)! - backAt} ms after the server came back`,
      );
      expect(errors.length).toBeLessThanOrEqual(2);
    } finally {
      clearInterval(ticker);
    }
  } finally {
    await outage.close();
    await server.close();
  }
});
