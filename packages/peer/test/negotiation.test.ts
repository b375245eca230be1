// What a bot puts on the signalling link for one member. The server paces every client (`messagesPerSecond`, 50 by
// default), so a signal repeated is time taken from every other member: a bot answering 50 members at once used to
// send each candidate twice (in its description, then again as a `candidate` signal) and its connections came up one
// by one, ~80 ms apart. The far end here is a plain SignalClient with its own werift connection, as an app that
// brings its own WebRTC stack would be.
import { SignalClient, type SignalMessage } from "@parley/signal";
import { RTCPeerConnection, type RTCSessionDescriptionInit } from "@parley/werift";
import { afterEach, describe, expect, it } from "vitest";
import { LOOPBACK, loopbackPeer, signalServer, until } from "./helpers/room-fixture.js";

const clients: SignalClient[] = [];
const connections: RTCPeerConnection[] = [];
afterEach(async () => {
  await Promise.all(connections.splice(0).map((pc) => pc.close()));
  for (const client of clients.splice(0)) client.close();
});

/** A member that answers any offer and trickles its own candidates; records every signal it gets. */
async function plainMember(url: string) {
  const client = await SignalClient.connect(url);
  clients.push(client);
  const pc = new RTCPeerConnection(LOOPBACK);
  connections.push(pc);
  const got: SignalMessage[] = [];
  let botId: string | undefined;
  const send = (kind: "offer" | "answer" | "candidate" | "end-of-candidates", payload: unknown) =>
    void client.signal("r", botId!, kind, payload);
  pc.onicecandidate = ({ candidate }) =>
    candidate ? send("candidate", candidate.toJSON()) : send("end-of-candidates", null);
  client.on("signal", async (message) => {
    got.push(message);
    botId = message.from;
    if (message.kind === "offer" || message.kind === "answer") {
      await pc.setRemoteDescription(message.payload as RTCSessionDescriptionInit);
      if (message.kind === "offer") {
        await pc.setLocalDescription(await pc.createAnswer());
        send("answer", pc.localDescription);
      }
    } else if (message.kind === "candidate") await pc.addIceCandidate(message.payload as never);
  });
  return {
    client,
    pc,
    got,
    offer: async (to: string) => {
      botId = to;
      pc.addTransceiver("audio", { direction: "recvonly" });
      pc.createDataChannel("x");
      await pc.setLocalDescription(await pc.createOffer());
      send("offer", pc.localDescription);
    },
  };
}

/** Candidate signals from the bot that repeat a line of a description it sent before them. */
function repeated(got: SignalMessage[]): string[] {
  const out: string[] = [];
  let sdp = "";
  for (const message of got) {
    if (message.kind === "offer" || message.kind === "answer") sdp = (message.payload as { sdp: string }).sdp;
    if (message.kind === "candidate") {
      const line = (message.payload as { candidate: string }).candidate;
      if (sdp.split(/\r?\n/).includes(`a=${line}`)) out.push(line);
    }
    if (message.kind === "end-of-candidates" && /^a=end-of-candidates\r?$/m.test(sdp)) out.push("end-of-candidates");
  }
  return out;
}

describe("signals a bot sends for one member", () => {
  it("as the offerer: its offer carries its candidates, none is sent again, and the connection comes up", async () => {
    const url = await signalServer();
    const far = await plainMember(url);
    await far.client.join("r");
    const bot = await loopbackPeer(url);
    const room = await bot.join("r", { receive: { audio: true, video: false } });
    await room.openChannel("chat");
    await until(() => room.members.get(far.client.sessionId)?.connectionState === "connected");
    await new Promise((r) => setTimeout(r, 300)); // anything trickled after the connection is up has arrived too
    const offer = far.got.find((m) => m.kind === "offer");
    expect(offer, "the bot offered").toBeDefined();
    expect((offer!.payload as { sdp: string }).sdp).toMatch(/^a=candidate:.* typ host/m);
    expect(repeated(far.got)).toEqual([]);
    expect(far.got.filter((m) => m.kind === "candidate")).toEqual([]); // host candidates only: all in the offer
  });

  it("as the answerer: its answer carries its candidates, none is sent again, and the connection comes up", async () => {
    const url = await signalServer();
    const bot = await loopbackPeer(url);
    const room = await bot.join("r", { receive: { audio: true, video: false } });
    const far = await plainMember(url);
    await far.client.join("r");
    await far.offer(bot.id);
    await until(() => room.members.get(far.client.sessionId)?.connectionState === "connected");
    await new Promise((r) => setTimeout(r, 300));
    const answer = far.got.find((m) => m.kind === "answer");
    expect(answer, "the bot answered").toBeDefined();
    expect((answer!.payload as { sdp: string }).sdp).toMatch(/^a=candidate:.* typ host/m);
    expect(repeated(far.got)).toEqual([]);
    expect(far.got.filter((m) => m.kind === "candidate")).toEqual([]);
  });
});
