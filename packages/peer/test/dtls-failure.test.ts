// A connection whose DTLS handshake fails cannot be repaired by an ICE restart (the DTLS association outlives ICE
// restarts, and werift answers each one with "failed" again). The bot must say so once, with that reason, and not
// restart ICE for ever. The far end here is a plain SignalClient with its own werift connection whose offer names a
// certificate fingerprint it does not have — the bot's check of the far end's certificate fails.
import type { RTCSessionDescriptionInit } from "@parley/werift";
import { expect, it } from "vitest";
import type { PeerError } from "../src/index.js";
import { loopbackPeer, plainMember, signalServer, until } from "./helpers/room-fixture.js";

it("a failed DTLS handshake is reported once as CONNECTION_FAILED with its reason, and ICE is not restarted", async () => {
  const url = await signalServer();
  const bot = await loopbackPeer(url, { restartAfterMs: 100, connectTimeoutMs: 1000 });
  const room = await bot.join("r", { receive: { audio: false, video: false } });
  const errors: PeerError[] = [];
  room.on("error", (err) => errors.push(err));

  const { client, pc, got } = await plainMember(url, "r");
  pc.onicecandidate = ({ candidate }) => candidate && void client.signal("r", bot.id, "candidate", candidate.toJSON());
  client.on("signal", async (message) => {
    if (message.kind === "answer") await pc.setRemoteDescription(message.payload as RTCSessionDescriptionInit);
    else if (message.kind === "candidate") await pc.addIceCandidate(message.payload as never).catch(() => {});
  });
  pc.createDataChannel("x");
  await pc.setLocalDescription(await pc.createOffer());
  // Every hex pair of the fingerprint changed: a certificate this end does not have.
  const sdp = pc.localDescription!.sdp.replace(/^(a=fingerprint:\S+ )(\S+)/m, (_l, head: string, hex: string) => {
    return head + hex.replace(/[0-9A-F]{2}/g, (pair) => (pair === "00" ? "01" : "00"));
  });
  expect(sdp).not.toBe(pc.localDescription!.sdp);
  await client.signal("r", bot.id, "offer", { type: "offer", sdp });

  await until(() => errors.length > 0, 15_000, "an error");
  expect(errors[0]!.code).toBe("CONNECTION_FAILED");
  expect(errors[0]!.message).toMatch(/DTLS handshake failed/);
  // Long enough for several restarts at restartAfterMs/connectTimeoutMs: none comes, and no second report.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  expect(got.filter((m) => m.kind === "restart" || m.kind === "offer")).toEqual([]);
  expect(errors).toHaveLength(1);
});
