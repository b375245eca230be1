// Patch 23: every ICE restart (a new generation of the ICE agent) is started exactly once, and nothing of an older
// generation touches a newer one. Found by the soak (every bot restarts ICE on every connection at the same moment,
// every two minutes): once in a while one end's agent stayed "new" under a "connected" connection — a check sent just
// before the restart was answered just after it and nominated its old pair on the restarted agent, so the peer
// connection took ICE for running and never started the new generation; one direction stayed silent until the next
// restart. Also: the follower of every restart sent an offer of its own, and its answer ran ICE a second time, which
// left the transport "checking" for ever on a working path; and an answer carrying the credentials of a restart the
// far end had rolled back started a restart loop between the two ends.
import type { RTCDataChannel, RTCPeerConnection } from "@parley/werift";
import { describe, expect, it } from "vitest";
import { bothWaysFlow, loopbackPeers, nextChannel, offerAnswer, opened } from "./loopback.js";

const newPeer = loopbackPeers();

/**
 * Two connected peers with a chat channel; `a` offered first (so it is ICE-controlling). With `bUnannounced`, `a`
 * never hears of `b`'s candidates and learns `b`'s address from `b`'s checks (a peer-reflexive candidate, as behind
 * a NAT or when a check overtakes the candidate's signal).
 */
async function chatPair(
  bUnannounced = false,
): Promise<[RTCPeerConnection, RTCPeerConnection, RTCDataChannel, RTCDataChannel]> {
  const a = newPeer();
  const b = newPeer();
  const trickle = (to: RTCPeerConnection) => (candidate: Parameters<RTCPeerConnection["addIceCandidate"]>[0]) =>
    void to.addIceCandidate(candidate).catch(() => {});
  a.onicecandidate = ({ candidate }) => candidate && trickle(b)(candidate);
  b.onicecandidate = ({ candidate }) => candidate && !bUnannounced && trickle(a)(candidate);
  const atA = a.createDataChannel("chat");
  const atB = nextChannel(b);
  if (bUnannounced) {
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription(await b.createAnswer());
    const sdp = b.localDescription!.sdp.replace(/^a=(candidate:.*|end-of-candidates)\r?\n/gm, "");
    await a.setRemoteDescription({ type: "answer", sdp });
  } else {
    await offerAnswer(a, b);
  }
  const channelB = await atB;
  await Promise.all([opened(atA), opened(channelB)]);
  return [a, b, atA, channelB];
}

const iceOf = (pc: RTCPeerConnection) => pc.dtlsTransports[0]!.iceTransport;
const ufragOf = (sdp: string | undefined) => /^a=ice-ufrag:(\S+)/m.exec(sdp ?? "")?.[1];

describe("ICE restarts: one start per generation (patch 23)", () => {
  it("a check answered after the agent restarted does not nominate on it: the new generation starts and connects", async () => {
    const [a, b, atA, atB] = await chatPair(true);
    const agent = iceOf(a).connection;
    expect(agent.iceControlling).toBe(true);
    const pair = agent.nominated!;
    expect(pair.remoteCandidate.type).toBe("prflx");
    // A check on the selected pair is in flight (consent, a triggered check) when the restart comes.
    agent.checkStart(pair);
    a.restartIce();
    const offer = await a.createOffer();
    // The far end answers that check within milliseconds; its answer must not nominate anything on the new agent.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(agent.nominated).toBeUndefined();
    await a.setLocalDescription(offer);
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription!);
    await expect.poll(() => iceOf(a).state, { timeout: 5000 }).toBe("connected");
    expect(agent.state).toBe("connected");
    await bothWaysFlow(atA, atB);
  });

  it("a renegotiation while a restart's ICE is checking leaves ICE 'connected', not 'checking'", async () => {
    const [a, b, atA, atB] = await chatPair();
    a.restartIce();
    await offerAnswer(a, b);
    // Right away, before the restart's checks are done: the far end renegotiates (here it adds a transceiver).
    b.addTransceiver("audio", { direction: "recvonly" });
    await offerAnswer(b, a);
    await bothWaysFlow(atA, atB);
    for (const pc of [a, b]) {
      await expect.poll(() => pc.iceConnectionState, { timeout: 3000 }).toBe("connected");
      expect(pc.connectionState).toBe("connected");
    }
  });

  it("the far end of a restart answers it and sends no offer of its own", async () => {
    const [a, b, atA, atB] = await chatPair();
    let offersNeeded = 0;
    b.onnegotiationneeded = () => offersNeeded++;
    a.restartIce();
    await offerAnswer(a, b);
    await bothWaysFlow(atA, atB);
    expect(offersNeeded).toBe(0);
    expect(b.signalingState).toBe("stable");
  });

  it("a restartIce() not yet offered is satisfied by the far end's restart: no second restart", async () => {
    const [a, b, atA, atB] = await chatPair();
    // b asks for a restart, but a's restart offer comes in before b has offered (both ends recovering at once).
    b.restartIce();
    a.restartIce();
    await offerAnswer(a, b);
    const answered = ufragOf(b.localDescription?.sdp);
    // b's pending negotiation still runs: its offer keeps the credentials it has just answered with.
    const offer = await b.createOffer();
    expect(ufragOf(offer.sdp)).toBe(answered);
    await b.setLocalDescription(offer);
    await a.setRemoteDescription(b.localDescription!);
    await a.setLocalDescription(await a.createAnswer());
    await b.setRemoteDescription(a.localDescription!);
    await bothWaysFlow(atA, atB);
  });

  it("an ICE restart rolled back in a glare, then a plain offer from the other end: no restart loop, both connect", async () => {
    const [a, b, atA, atB] = await chatPair();
    const aUfrag = ufragOf(a.localDescription?.sdp);
    let aOffersNeeded = 0;
    a.onnegotiationneeded = () => aOffersNeeded++;
    // b's ICE restart offer loses a glare to a plain renegotiation of a's (perfect negotiation's polite end)...
    b.restartIce();
    await b.setLocalDescription(await b.createOffer());
    a.addTransceiver("audio", { direction: "recvonly" });
    await a.setLocalDescription(await a.createOffer());
    await b.setLocalDescription({ type: "rollback" } as never);
    // ...so b answers a's offer with the credentials of its rolled-back restart.
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription!);
    await bothWaysFlow(atA, atB);
    for (const pc of [a, b]) await expect.poll(() => pc.iceConnectionState, { timeout: 3000 }).toBe("connected");
    // a keeps the credentials b already has: nothing to re-offer (a new offer restarted b again, and so on).
    expect(iceOf(a).connection.localUsername).toBe(aUfrag);
    expect(aOffersNeeded).toBe(0);
  });
});
