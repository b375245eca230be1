// Patch 21: an SCTP INIT that arrives before the description naming the far end's SCTP port is answered anyway, to
// the port it came from. A browser starts SCTP as soon as it has set its answer, so when a bot adds its first data
// channel by re-offering, the browser's INIT usually reaches the bot before the browser's answer does; werift could
// not answer it ("invalid remote port") and the channel opened only after the browser retransmitted its INIT, ~1 s
// later (10 of 16 bot–page pairs in a soak run).
//
// Here the far end is a werift that starts SCTP the way a browser does, right after setting its answer, and the
// answer is held back until that end's association is up: without the patch it never comes up while the answer is
// held (every INIT goes unanswered), so the test fails instead of merely being slower.
import type { RTCDataChannel } from "@parley/werift";
import { describe, expect, it } from "vitest";
import { connected, loopbackPeers, offerAnswer } from "./loopback.js";

const newPeer = loopbackPeers();

/** Polls `check` every 20 ms for at most `ms`; true if it held. */
async function within(ms: number, check: () => boolean): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

describe("an SCTP INIT before the far end's description (patch 21)", () => {
  it("is answered, and the channel a re-offer added opens and carries messages", async () => {
    const browser = newPeer();
    const bot = newPeer();
    browser.addTransceiver("audio", { direction: "sendrecv" });
    await offerAnswer(browser, bot); // the "browser" offered first, as a page joining a room with a microphone does
    await Promise.all([connected(browser), connected(bot)]);

    // The bot adds its channel: a re-offer. The browser answers and starts SCTP at once (it is the ICE-controlling
    // end, so the SCTP client that sends INIT); its answer is not delivered yet.
    const atBot = bot.createDataChannel("chat");
    await bot.setLocalDescription(await bot.createOffer());
    await browser.setRemoteDescription(bot.localDescription!);
    await browser.setLocalDescription(await browser.createAnswer());
    const echoed = new Promise<RTCDataChannel>((resolve) => {
      browser.onDataChannel.subscribe((channel) => {
        channel.onMessage.subscribe((data) => channel.send(`echo ${data}`));
        resolve(channel);
      });
    });
    await browser.sctpTransport!.start(browser.sctpTransport!.sctp.remotePort);

    const up = await within(2000, () => browser.sctpTransport!.sctp.associationState === 4 /* ESTABLISHED */);
    expect(up, "the bot answered the browser's INIT before it had the browser's answer").toBe(true);

    await bot.setRemoteDescription(browser.localDescription!);
    await echoed;
    const reply = new Promise<string>((resolve) => atBot.onMessage.subscribe((data) => resolve(String(data))));
    await within(2000, () => atBot.readyState === "open");
    atBot.send("hello");
    expect(await reply).toBe("echo hello");
  });
});
