// Every signal a bot sends counts against the server's per-client rate (50 a second by default), and a bot in many
// rooms spends that budget for all of them: a recorder in 50 rooms joined at once brought its connections up one by
// one while its messages waited their turn. werift gathers while the description is set, so the description carries
// the candidates already; the bot must not send them again, and the connection must come up from the description
// alone. The far end is a plain SignalClient with its own werift connection, reading what the bot sends.
import type { RTCSessionDescriptionInit } from "@parley/werift";
import { expect, it } from "vitest";
import { loopbackPeer, plainMember, signalServer, until } from "./helpers/room-fixture.js";

it("a bot's answer carries its candidates, which are not sent again as signals, and the connection comes up", async () => {
  const url = await signalServer();
  const bot = await loopbackPeer(url);
  const room = await bot.join("r", { receive: { audio: false, video: false } });
  const { client, pc, got } = await plainMember(url, "r");
  client.on("signal", async (message) => {
    if (message.kind === "answer") await pc.setRemoteDescription(message.payload as RTCSessionDescriptionInit);
    else if (message.kind === "candidate") await pc.addIceCandidate(message.payload as never);
  });
  const channel = pc.createDataChannel("x");
  await pc.setLocalDescription(await pc.createOffer());
  await client.signal("r", bot.id, "offer", pc.localDescription!);
  await until(() => channel.readyState === "open", 10_000, "the channel to open");
  await until(() => got.some((m) => m.kind === "end-of-candidates"), 5000, "end-of-candidates");

  const answer = got.find((m) => m.kind === "answer")!.payload as RTCSessionDescriptionInit;
  const carried = answer.sdp!.split(/\r?\n/).filter((line) => line.startsWith("a=candidate:"));
  expect(carried.length).toBeGreaterThan(0);
  const repeated = got
    .filter((m) => m.kind === "candidate")
    .map((m) => `a=${(m.payload as { candidate: string }).candidate}`)
    .filter((line) => carried.includes(line));
  expect(repeated).toEqual([]);
  expect(got.filter((m) => m.kind === "end-of-candidates")).toHaveLength(1);
  expect([...room.members.values()][0]?.connectionState).toBe("connected");
});
