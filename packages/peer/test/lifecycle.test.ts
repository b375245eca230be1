import { describe, expect, it } from "vitest";
import { Peer } from "../src/index.js";
import { channelPair, signalServer, until, waitFor } from "./helpers/room-fixture.js";

/**
 * Open sockets of this process by kind. Vitest runs each test file in its own process (forks pool) and the tests of
 * a file one after another, so these are this test's sockets.
 */
function sockets(): { udp: number; tcp: number } {
  const kinds = process.getActiveResourcesInfo();
  return { udp: kinds.filter((k) => k === "UDPWrap").length, tcp: kinds.filter((k) => k === "TCPSocketWrap").length };
}

describe("lifecycle", () => {
  it("closes every socket it opened when the peer closes, and stops its signalling client", async () => {
    const url = await signalServer();
    const before = sockets();
    const rtc = { iceUseIpv6: false, iceAdditionalHostAddresses: ["127.0.0.1"] };
    const a = await Peer.connect(url, { rtc });
    const b = await Peer.connect(url, { rtc });
    const ra = await a.join("r", { receive: { audio: false, video: false } });
    await ra.openChannel("x");
    const rb = await b.join("r"); // with audio and video m-lines too
    const channel = await rb.members.get(a.id)!.openChannel("y");
    await channel.send("hi");
    expect(sockets().udp).toBeGreaterThan(before.udp);
    await Promise.all([a.close(), b.close()]);
    await new Promise((r) => setTimeout(r, 300));
    expect(sockets()).toEqual(before);
    for (const p of [a, b]) expect(p.signal.connected).toBe(false);
  });

  it("rejects sends on a closed channel and calls on a left member with typed errors", async () => {
    const { rb, member, channel } = await channelPair(await signalServer(), "c");
    await expect(channel.send(Buffer.alloc(300 * 1024))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await rb.leave();
    await expect(channel.send("late")).rejects.toMatchObject({ code: "CHANNEL_CLOSED" });
    await expect(member.openChannel("d")).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("send() waits while the channel is above its high-water mark, and every message arrives in order", async () => {
    const { channel, theirs } = await channelPair(await signalServer(), "bulk", { highWaterMark: 64 * 1024 });
    let received = 0;
    let inOrder = true;
    theirs.on("message", (d) => {
      if ((d as Buffer).readUInt32BE(0) !== received) inOrder = false;
      received++;
    });
    let maxBuffered = 0;
    const chunk = Buffer.alloc(16 * 1024);
    for (let i = 0; i < 400; i++) {
      chunk.writeUInt32BE(i, 0);
      await channel.send(Buffer.from(chunk));
      maxBuffered = Math.max(maxBuffered, channel.bufferedAmount);
    }
    await until(() => received === 400, 30_000, "400 messages");
    expect(inOrder).toBe(true);
    // One message may land on top of the mark; never more.
    expect(maxBuffered).toBeLessThanOrEqual(64 * 1024 + chunk.length);
  });

  it("restarts ICE on request and keeps the channel working", async () => {
    const { member, channel, theirs } = await channelPair(await signalServer(), "c");
    const ufrag = () => /a=ice-ufrag:(\S+)/.exec(member.pc.localDescription!.sdp)![1];
    const before = ufrag();
    member.restartIce();
    await until(() => ufrag() !== before && member.pc.signalingState === "stable", 15_000, "restart negotiated");
    const got = waitFor<string>((r) => theirs.once("message", (d) => r(String(d))));
    await channel.send("after restart");
    expect(await got).toBe("after restart");
  });
});
