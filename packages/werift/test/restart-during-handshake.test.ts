// Patch 27: an ICE restart while the DTLS handshake is still running waits for that handshake. werift's connect() for
// the restarted generation called the DTLS transport's start() a second time, which threw "state must be new": the
// connection was reported "failed" though ICE was up and the handshake went on, and so was every restart until the
// handshake ended. Found by a storm of renewals and ICE restarts (packages/peer/test/restart-storm.test.ts): a new
// connection restarted while it was still connecting failed four restarts in a row within 200 ms.
import type { RTCDataChannel, RTCPeerConnection } from "@parley/werift";
import { expect, it } from "vitest";
import { bothWaysFlow, connected, loopbackPeers, nextChannel, offerAnswer, opened } from "./loopback.js";

const newPeer = loopbackPeers();
const ROUNDS = 10;

/** A new pair whose offerer restarts ICE the moment its DTLS handshake begins; every state each end went through. */
async function restartedDuringHandshake() {
  const a = newPeer();
  const b = newPeer();
  const states: string[] = [];
  a.connectionStateChange.subscribe((s) => states.push(`a ${s}`));
  b.connectionStateChange.subscribe((s) => states.push(`b ${s}`));
  const atA = a.createDataChannel("chat");
  const atB = nextChannel(b);
  await a.setLocalDescription(await a.createOffer());
  const dtls = a.dtlsTransports[0]!;
  let handshakeStateWhenRestarted = "";
  const restarted = new Promise<void>((resolve, reject) => {
    const sub = dtls.onStateChange.subscribe((state) => {
      if (state !== "connecting") return;
      sub.unSubscribe();
      handshakeStateWhenRestarted = dtls.state;
      a.restartIce();
      offerAnswer(a, b).then(resolve, reject);
    });
  });
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription!);
  await restarted;
  return { a, b, atA, atB: await atB, states, handshakeStateWhenRestarted };
}

async function settled(a: RTCPeerConnection, b: RTCPeerConnection, atA: RTCDataChannel, atB: RTCDataChannel) {
  await Promise.all([connected(a), connected(b), opened(atA), opened(atB)]);
  await bothWaysFlow(atA, atB);
}

it(`an ICE restart during the DTLS handshake neither fails the connection nor stops it (${ROUNDS} new pairs)`, async () => {
  for (let round = 0; round < ROUNDS; round++) {
    const { a, b, atA, atB, states, handshakeStateWhenRestarted } = await restartedDuringHandshake();
    expect(handshakeStateWhenRestarted).toBe("connecting");
    await settled(a, b, atA, atB);
    expect({ round, failed: states.filter((s) => s.endsWith("failed")) }).toEqual({ round, failed: [] });
    expect([a.connectionState, b.connectionState]).toEqual(["connected", "connected"]);
    await Promise.all([a.close(), b.close()]);
  }
});
