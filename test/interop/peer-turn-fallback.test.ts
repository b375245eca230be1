// werift uses only the first TURN URL it is given. Parley honours every configured one: with relay-only ICE and a
// first TURN URL that answers nothing, two bots still connect, through the second (TURN over TCP).
import { Peer } from "@parley/peer";
import { createSignalServer, type SignalServer } from "@parley/signal";
import { createTurnServer, type TurnServer } from "@parley/turn";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort } from "../helpers/ports.js";

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
afterAll(async () => {
  await Promise.all(peers.map((p) => p.close()));
  await signal?.close();
  await turn?.close();
});

it("connects relay-only through the second TURN URL when the first is dead", async () => {
  const options = { iceTransportPolicy: "relay" as const, connectTimeoutMs: 4000 };
  const a = await Peer.connect(url, options);
  const b = await Peer.connect(url, options);
  peers.push(a, b);
  const ra = await a.join("fallback", { receive: { audio: false, video: false } });
  await ra.openChannel("c");
  const rb = await b.join("fallback", { receive: { audio: false, video: false } });
  const member = rb.members.get(a.id)!;
  await expect.poll(() => member.connectionState, { timeout: 90_000, interval: 250 }).toBe("connected");
  await expect.poll(() => member.channel("c")?.readyState, { timeout: 30_000 }).toBe("open");
  const stats = await member.stats();
  expect(stats.localCandidateType).toBe("relay");
  expect(turn.counters.relayedToPeer).toBeGreaterThan(0);
});
