// Browser proof for @parley/turn: two Chromium peers that may only use relay candidates, with Parley's TURN server
// as their only ICE server, connect and move data-channel messages and camera/mic media through it.
import { createTurnServer, type TurnServer } from "@parley/turn";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, servePage } from "../helpers/chromium.js";
import { hasTool } from "../helpers/require-tool.js";

const PAGE = `<!doctype html><meta charset="utf-8"><title>relay peer</title><script>
window.makePeer = async (iceServers, withMedia) => {
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: "relay" });
  window.pc = pc;
  window.inbox = [];
  const onChannel = (dc) => { window.dc = dc; dc.onmessage = (e) => window.inbox.push(e.data); };
  pc.ondatachannel = (e) => onChannel(e.channel);
  if (withMedia) {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: true });
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    onChannel(pc.createDataChannel("chat"));
  } else {
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
  }
};
window.gathered = () => new Promise((resolve) => {
  if (pc.iceGatheringState === "complete") return resolve();
  pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
});
window.offer = async () => { await pc.setLocalDescription(await pc.createOffer()); await gathered(); return pc.localDescription.toJSON(); };
window.answer = async (offer) => {
  await pc.setRemoteDescription(offer);
  // Receive-only transceivers were added before the offer arrived; reuse them for the offered media.
  await pc.setLocalDescription(await pc.createAnswer()); await gathered(); return pc.localDescription.toJSON();
};
window.accept = (answer) => pc.setRemoteDescription(answer);
window.channelOpen = () => new Promise((resolve) => {
  const check = () => window.dc && window.dc.readyState === "open" ? resolve() : setTimeout(check, 50);
  check();
});
window.send = (text) => window.dc.send(text);
window.close = () => pc.close();
window.stats = async () => {
  const out = { framesDecoded: 0, audioPackets: 0, localCandidateType: null, remoteCandidateType: null };
  const report = await pc.getStats();
  let pairId;
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") out.framesDecoded += s.framesDecoded || 0;
    if (s.type === "inbound-rtp" && s.kind === "audio") out.audioPackets += s.packetsReceived || 0;
    if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  const pair = pairId && report.get(pairId);
  if (pair) {
    out.localCandidateType = report.get(pair.localCandidateId)?.candidateType ?? null;
    out.remoteCandidateType = report.get(pair.remoteCandidateId)?.candidateType ?? null;
  }
  return out;
};
</script>`;

interface Stats {
  framesDecoded: number;
  audioPackets: number;
  localCandidateType: string | null;
  remoteCandidateType: string | null;
}
/** What PAGE defines on window. */
interface PageApi {
  makePeer(iceServers: RTCIceServer[], withMedia: boolean): Promise<void>;
  offer(): Promise<RTCSessionDescriptionInit>;
  answer(offer: RTCSessionDescriptionInit): Promise<RTCSessionDescriptionInit>;
  accept(answer: RTCSessionDescriptionInit): Promise<void>;
  channelOpen(): Promise<void>;
  send(text: string): void;
  inbox: string[];
  stats(): Promise<Stats>;
  close(): void;
}
// Functions given to page.evaluate run in the page, so each names `window` itself.
const api = (page: Page) => ({
  makePeer: (servers: RTCIceServer[], media: boolean) =>
    page.evaluate(([s, m]) => (window as unknown as PageApi).makePeer(s, m), [servers, media] as const),
  offer: () => page.evaluate(() => (window as unknown as PageApi).offer()),
  answer: (offer: RTCSessionDescriptionInit) => page.evaluate((o) => (window as unknown as PageApi).answer(o), offer),
  accept: (answer: RTCSessionDescriptionInit) => page.evaluate((a) => (window as unknown as PageApi).accept(a), answer),
  channelOpen: () => page.evaluate(() => (window as unknown as PageApi).channelOpen()),
  send: (text: string) => page.evaluate((t) => (window as unknown as PageApi).send(t), text),
  inbox: () => page.evaluate(() => (window as unknown as PageApi).inbox),
  stats: () => page.evaluate(() => (window as unknown as PageApi).stats()),
  close: () => page.evaluate(() => (window as unknown as PageApi).close()),
});

// With one relay thread and with two (SO_REUSEPORT; one thread where Node lacks it): each Chromium's 5-tuples may
// land on either thread, and both peers' allocations relay to each other across them.
describe.skipIf(!hasTool("chromium")).each([1, 2])(
  "Chromium peers relayed only through parley-turn, relayThreads %i",
  (relayThreads) => {
    let turn: TurnServer;
    let sender: ReturnType<typeof api>;
    let receiver: ReturnType<typeof api>;

    beforeAll(async () => {
      turn = await createTurnServer({
        listeningIps: ["127.0.0.1"],
        listeningPort: 0,
        realm: "parley.test",
        users: ["browser:relay-only"],
        peerPolicy: { allowLoopback: true },
        relayThreads,
      }).listen();
      const { url } = await servePage(PAGE);
      const browser = await launchChromium();
      const pages = await Promise.all([0, 1].map(async () => (await browser.newContext()).newPage()));
      await Promise.all(pages.map((p) => p.goto(url)));
      sender = api(pages[0]!);
      receiver = api(pages[1]!);
    });
    afterAll(() => turn?.close());

    for (const transport of ["udp", "tcp"] as const) {
      it(`connects with relay candidates over TURN/${transport} and moves data and media`, async () => {
        const port = turn.addresses.find((a) => a.transport === transport)!.port;
        const iceServers = [
          { urls: `turn:127.0.0.1:${port}?transport=${transport}`, username: "browser", credential: "relay-only" },
        ];
        await turn.refreshCounters();
        const before = turn.counters.relayedToPeer;
        await sender.makePeer(iceServers, true);
        await receiver.makePeer(iceServers, false);
        const offer = await sender.offer();
        expect(offer.sdp).toMatch(/typ relay/);
        expect(offer.sdp).not.toMatch(/typ host/);
        await sender.accept(await receiver.answer(offer));

        await Promise.all([sender.channelOpen(), receiver.channelOpen()]);
        await sender.send("hello through the relay");
        await receiver.send("and back again");
        await expect.poll(receiver.inbox, { timeout: 15_000 }).toContain("hello through the relay");
        await expect.poll(sender.inbox, { timeout: 15_000 }).toContain("and back again");

        await expect.poll(async () => (await receiver.stats()).framesDecoded, { timeout: 30_000 }).toBeGreaterThan(10);
        await expect.poll(async () => (await receiver.stats()).audioPackets, { timeout: 30_000 }).toBeGreaterThan(10);
        const final = await receiver.stats();
        expect(final.localCandidateType).toBe("relay");
        expect(final.remoteCandidateType).toBe("relay");
        await turn.refreshCounters();
        expect(turn.counters.relayedToPeer - before).toBeGreaterThan(20);
        await Promise.all([sender.close(), receiver.close()]);
      });
    }
  },
);
