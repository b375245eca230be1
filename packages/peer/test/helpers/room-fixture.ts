import { createSignalServer, SignalClient, type SignalMessage, type SignalServer } from "@parley/signal";
import { RTCPeerConnection } from "@parley/werift";
import { afterEach } from "vitest";
import { type Channel, type ChannelOptions, Peer, type PeerOptions } from "../../src/index.js";

/** werift settings for tests: host candidates on loopback only (tests never leave the machine). */
export const LOOPBACK = {
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ["127.0.0.1"],
  iceFilterCandidatePair: (pair: { remoteCandidate: { host: string } }) => pair.remoteCandidate.host === "127.0.0.1",
} as const;

const servers: SignalServer[] = [];
const peers: Peer[] = [];
const plainClients: SignalClient[] = [];
const plainConnections: RTCPeerConnection[] = [];

afterEach(async () => {
  await Promise.all(plainConnections.splice(0).map((pc) => pc.close()));
  for (const client of plainClients.splice(0)) client.close();
  await Promise.all(peers.splice(0).map((p) => p.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

export async function signalServer(): Promise<string> {
  const server = createSignalServer();
  servers.push(server);
  return `ws://127.0.0.1:${await server.listen(0)}`;
}

/** A Peer on loopback, closed after the test. */
export async function loopbackPeer(url: string, options: PeerOptions = {}): Promise<Peer> {
  const peer = await Peer.connect(url, { ...options, rtc: { ...LOOPBACK, ...options.rtc } });
  peers.push(peer);
  return peer;
}

/**
 * A member that is not a Parley peer: a bare SignalClient in room `room` with its own werift connection, which the
 * test drives by hand (what it offers, what it does with each signal). `got` is every signal it received, in order.
 * Both are closed after the test.
 */
export async function plainMember(
  url: string,
  room: string,
): Promise<{ client: SignalClient; pc: RTCPeerConnection; got: SignalMessage[] }> {
  const client = await SignalClient.connect(url);
  plainClients.push(client);
  await client.join(room);
  const pc = new RTCPeerConnection(LOOPBACK);
  plainConnections.push(pc);
  const got: SignalMessage[] = [];
  client.on("signal", (message) => got.push(message));
  return { client, pc, got };
}

export function waitFor<T>(
  register: (resolve: (value: T) => void) => void,
  timeoutMs = 15_000,
  what = "event",
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    register((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** Polls `check` every 20 ms until it is true (for states werift reaches without an event we can wait on). */
export function until(check: () => boolean, timeoutMs = 15_000, what = "condition"): Promise<void> {
  return waitFor<void>(
    (resolve) => {
      const poll = () => (check() ? resolve() : setTimeout(poll, 20));
      poll();
    },
    timeoutMs,
    what,
  );
}

const NO_MEDIA = { receive: { audio: false, video: false } };

/**
 * Two loopback peers in room "r" asking for no media, and a channel `label` that the second opens to the first:
 * both ends, ready to use.
 */
export async function channelPair(url: string, label: string, options: ChannelOptions = {}) {
  const a = await loopbackPeer(url);
  const b = await loopbackPeer(url);
  const ra = await a.join("r", NO_MEDIA);
  const incoming = waitFor<Channel>((resolve) => ra.on("datachannel", (_m, c) => resolve(c)), 15_000, "datachannel");
  const rb = await b.join("r", NO_MEDIA);
  const member = rb.members.get(a.id)!;
  const channel = await member.openChannel(label, options);
  return { a, b, ra, rb, member, channel, theirs: await incoming };
}
