// Bulk data between a Parley bot and Debian's Chromium (its dcsctp SCTP stack), both ways, with Parley's SCTP
// patches in werift (one flush loop per association, a SACK every second packet or at a message's end): every byte
// arrives, in order, on a reliable channel; and an unordered, partially reliable channel with a non-ASCII label
// reaches the browser with those settings (two werift DCEP bugs, patched) and carries messages.
import { randomBytes } from "node:crypto";
import { Peer, type RemoteMember } from "@parley/peer";
import { createSignalServer, type SignalServer } from "@parley/signal";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStartPage, roomPageAssets, servePage } from "../helpers/chromium.js";
import { hasTool } from "../helpers/require-tool.js";

// The page echoes every message straight back on the channel it came on, and notes each channel's settings.
const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import { joinRoom } from "/parley-browser.js";
window.channels = {};
window.start = async (url, room) => {
  const session = await joinRoom({
    url, room,
    onChannel: (id, channel) => {
      channel.binaryType = "arraybuffer";
      window.channels[channel.label] = { ordered: channel.ordered, maxRetransmits: channel.maxRetransmits, received: 0 };
      channel.onmessage = (e) => { window.channels[channel.label].received++; channel.send(e.data); };
    },
  });
  return session.client.sessionId;
};
</script>`;

interface PageApi {
  start(url: string, room: string): Promise<string>;
  channels: Record<string, { ordered: boolean; maxRetransmits: number | null; received: number }>;
}

describe.skipIf(!hasTool("chromium"))("bulk data between a Parley bot and Chromium", () => {
  let signal: SignalServer;
  let signalUrl: string;
  let page: Page;
  let bot: Peer;
  let browser: RemoteMember;

  beforeAll(async () => {
    signal = createSignalServer();
    signalUrl = `ws://127.0.0.1:${await signal.listen(0)}`;
    page = await openStartPage((await servePage(PAGE, roomPageAssets())).url);
  });
  afterAll(async () => {
    await bot?.close();
    await signal?.close();
  });

  it("sends 8 MiB to the browser and gets every byte back, in order", async () => {
    bot = await Peer.connect(signalUrl);
    const room = await bot.join("bulk", { receive: { audio: false, video: false } });
    await room.openChannel("bulk"); // for every member, the browser included once it joins
    const browserId = await page.evaluate(
      ([u, r]) => (window as unknown as PageApi).start(u!, r!),
      [signalUrl, "bulk"],
    );
    await expect.poll(() => room.members.get(browserId)?.channel("bulk")?.readyState, { timeout: 20_000 }).toBe("open");
    browser = room.members.get(browserId)!;

    const messages = Array.from({ length: 128 }, () => randomBytes(64 * 1024));
    const echoed: Buffer[] = [];
    const channel = browser.channel("bulk")!;
    const all = new Promise<void>((resolve) =>
      channel.on("message", (data) => {
        echoed.push(Buffer.from(data as Buffer));
        if (echoed.length === messages.length) resolve();
      }),
    );
    for (const m of messages) await channel.send(m);
    await all;
    expect(echoed.length).toBe(messages.length);
    const firstWrong = echoed.findIndex((e, i) => !e.equals(messages[i]!));
    expect(firstWrong).toBe(-1);
  });

  it("opens an unordered channel with maxRetransmits and a non-ASCII label, as the browser sees it, and carries messages", async () => {
    const channel = await browser.openChannel("lösung ☕", { ordered: false, maxRetransmits: 2 });
    const back = new Set<string>();
    channel.on("message", (data) => back.add(String(data)));
    for (let i = 0; i < 50; i++) await channel.send(`m${i}`);
    await expect.poll(() => back.size, { timeout: 10_000 }).toBe(50);
    const seen = await page.evaluate(() => (window as unknown as PageApi).channels["lösung ☕"]);
    expect(seen).toEqual({ ordered: false, maxRetransmits: 2, received: 50 });
  });
});
