// Patch 18: an ICE restart must leave both ends sending. werift took new remote credentials for a "renomination" when
// any media section was inactive (a member that takes no video): it dropped its selected pair and stopped consent
// without restarting ICE, so everything that end sent was dropped while ICE said "connected" (found by the soak: chat
// from some members stopped after an ICE restart, and their unacknowledged messages piled up).
import type { RTCDataChannel, RTCPeerConnection } from "@parley/werift";
import { describe, expect, it } from "vitest";
import { bothWaysFlow, loopbackPeers, offerAnswer, opened } from "./loopback.js";

const newPeer = loopbackPeers();

async function chatPair(
  inactiveVideo: boolean,
): Promise<[RTCPeerConnection, RTCPeerConnection, RTCDataChannel, RTCDataChannel]> {
  const a = newPeer();
  const b = newPeer();
  // A restart's first candidates can reach the far end before the offer naming their ufrag and are refused there
  // (real signalling keeps that order); the descriptions carry the candidates too.
  const trickle = (to: RTCPeerConnection) => (candidate: Parameters<RTCPeerConnection["addIceCandidate"]>[0]) =>
    void to.addIceCandidate(candidate).catch(() => {});
  a.onicecandidate = ({ candidate }) => candidate && trickle(b)(candidate);
  b.onicecandidate = ({ candidate }) => candidate && trickle(a)(candidate);
  if (inactiveVideo) a.addTransceiver("video", { direction: "inactive" });
  const atA = a.createDataChannel("chat");
  const atB = new Promise<RTCDataChannel>((resolve) => {
    b.onDataChannel.subscribe((channel) => resolve(channel));
  });
  await offerAnswer(a, b);
  const channelB = await atB;
  await Promise.all([opened(atA), opened(channelB)]);
  return [a, b, atA, channelB];
}

describe("ICE restarts (patch 18)", () => {
  it("restarts from either end in turn: data flows after each", async () => {
    const [a, b, atA, atB] = await chatPair(true);
    for (const [offerer, answerer] of [
      [a, b],
      [b, a],
      [a, b],
    ] as const) {
      offerer.restartIce();
      await offerAnswer(offerer, answerer);
      await bothWaysFlow(atA, atB);
    }
  });

  it("a restart rolled back on one end (glare), then one from the other: both ends still send", async () => {
    const [a, b, atA, atB] = await chatPair(false);
    await bothWaysFlow(atA, atB);
    // b starts a restart whose offer loses a glare and is rolled back (perfect negotiation's polite end)...
    b.restartIce();
    await b.setLocalDescription(await b.createOffer());
    await b.setLocalDescription({ type: "rollback" } as never);
    // ...then takes a's restart.
    a.restartIce();
    await offerAnswer(a, b);
    await bothWaysFlow(atA, atB);
    expect([a.connectionState, b.connectionState]).toEqual(["connected", "connected"]);
  });
});
