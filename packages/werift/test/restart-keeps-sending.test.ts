// Patch 29: an ICE restart does not silence the connection. werift dropped everything an end sent from its restart
// (createOffer restarts the agent) until the new session nominated a pair — the whole signalling round trip, and more
// when a lost SCTP handshake chunk waited for its retransmission timer (a renewal storm saw 5-10 s of silence). RFC
// 8445 section 9 lets data continue on the previously selected pair during a restart; now it does.
import type { RTCDataChannel, RTCPeerConnection } from "@parley/werift";
import { expect, it } from "vitest";
import { bothWaysFlow, loopbackPeers, nextChannel, offerAnswer, opened } from "./loopback.js";

const newPeer = loopbackPeers();
const OFFER_DELAY_MS = 1500;

async function chatPair(): Promise<[RTCPeerConnection, RTCPeerConnection, RTCDataChannel, RTCDataChannel]> {
  const a = newPeer();
  const b = newPeer();
  // Candidates go with the descriptions only: a restart's trickled candidates would reach b before the offer that
  // names their ufrag (this test holds the offer back) and be refused there.
  const atA = a.createDataChannel("chat");
  const atB = nextChannel(b);
  await offerAnswer(a, b);
  const channelB = await atB;
  await Promise.all([opened(atA), opened(channelB)]);
  return [a, b, atA, channelB];
}

it("an end whose restart offer is still on its way keeps sending on the pair it had; the restart then completes", async () => {
  const [a, b, atA, atB] = await chatPair();
  await bothWaysFlow(atA, atB);
  const fromA: number[] = [];
  // (bothWaysFlow's last messages may still be arriving: "a".)
  atB.onmessage = ({ data }) => String(data).startsWith("#") && fromA.push(Number(String(data).slice(1)));

  a.restartIce();
  await a.setLocalDescription(await a.createOffer()); // a's agent has restarted; its offer waits on "signalling"
  expect(a.iceConnectionState).not.toBe("connected");
  let sent = 0;
  const pump = setInterval(() => atA.send(`#${sent++}`), 50);
  await new Promise((resolve) => setTimeout(resolve, OFFER_DELAY_MS));
  clearInterval(pump);
  // Loopback delivers in a millisecond; SCTP would resend a lost message only after a 3 s timer. Everything sent
  // while the offer waited has arrived before the offer is delivered (without the patch: nothing had).
  await expect.poll(() => fromA.length, { timeout: 500 }).toBe(sent);
  expect(fromA).toEqual([...Array(sent).keys()]);

  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription!);
  await expect
    .poll(() => [a.iceConnectionState, b.iceConnectionState], { timeout: 10_000 })
    .toEqual(["connected", "connected"]);
  await bothWaysFlow(atA, atB);
});

it("both ends restarted, the answer still on its way: both keep sending on the pair they had", async () => {
  const [a, b, atA, atB] = await chatPair();
  await bothWaysFlow(atA, atB);
  a.restartIce();
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription!); // b restarts too; its answer waits
  await b.setLocalDescription(await b.createAnswer());
  const fromA: string[] = [];
  const fromB: string[] = [];
  atA.onmessage = ({ data }) => data === "#b" && fromB.push(data);
  atB.onmessage = ({ data }) => data === "#a" && fromA.push(data);
  let sent = 0;
  const pump = setInterval(() => {
    atA.send("#a");
    atB.send("#b");
    sent++;
  }, 50);
  await new Promise((resolve) => setTimeout(resolve, OFFER_DELAY_MS));
  clearInterval(pump);
  await expect.poll(() => [fromA.length, fromB.length], { timeout: 500 }).toEqual([sent, sent]);

  await a.setRemoteDescription(b.localDescription!);
  await expect
    .poll(() => [a.iceConnectionState, b.iceConnectionState], { timeout: 10_000 })
    .toEqual(["connected", "connected"]);
  await bothWaysFlow(atA, atB);
});
