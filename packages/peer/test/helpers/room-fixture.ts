import { createSignalServer, type SignalServer } from "@parley/signal";
import { afterEach } from "vitest";
import { Peer, type PeerOptions } from "../../src/index.js";

/** werift settings for tests: host candidates on loopback only (tests never leave the machine). */
export const LOOPBACK = {
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ["127.0.0.1"],
  iceFilterCandidatePair: (pair: { remoteCandidate: { host: string } }) => pair.remoteCandidate.host === "127.0.0.1",
} as const;

const servers: SignalServer[] = [];
const peers: Peer[] = [];

afterEach(async () => {
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
