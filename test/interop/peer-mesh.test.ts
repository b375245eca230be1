// Three participants (two Parley bots and Chromium) in a full mesh; one bot relays the browser's video to the other;
// a member leaves and the rest carry on. Then the browser reloads mid-call (a new session), and drops its signalling
// connection and resumes: the bot recovers in both cases.
import { Peer, type Room, relayTrack } from "@parley/peer";
import { createSignalServer, type SignalServer } from "@parley/signal";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTcpProxy, type TcpProxy } from "../../packages/signal/test/helpers/tcp-proxy.js";
import { launchChromium, roomPageAssets, servePage } from "../helpers/chromium.js";
import { hasTool } from "../helpers/require-tool.js";

// The page echoes every data-channel message and counts what it receives; ?url=…&room=… starts it on load, so a
// reload rejoins by itself.
const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import { joinRoom } from "/parley-browser.js";
window.inbox = [];
window.tracks = 0;
const params = new URLSearchParams(location.search);
const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: true });
window.session = await joinRoom({
  url: params.get("url"), room: params.get("room"), stream,
  onTrack: () => window.tracks++,
  onChannel: (id, channel) => {
    channel.onmessage = (e) => { window.inbox.push(e.data); channel.send("echo:" + e.data); };
  },
});
window.sessionId = window.session.client.sessionId;
window.session.client.on("resumed", () => (window.resumed = (window.resumed ?? 0) + 1));
</script>`;

interface PageWindow {
  inbox: string[];
  tracks: number;
  sessionId?: string;
  resumed?: number;
}

function collect(room: Room) {
  const messages: string[] = [];
  room.on("message", (m, _c, data) => messages.push(`${m.id}:${data}`));
  return messages;
}

describe.skipIf(!hasTool("chromium"))("mesh of two bots and Chromium", () => {
  let signal: SignalServer;
  let proxy: TcpProxy;
  let signalUrl: string;
  let pageUrl: string;
  const peers: Peer[] = [];

  beforeAll(async () => {
    signal = createSignalServer();
    const port = await signal.listen(0);
    signalUrl = `ws://127.0.0.1:${port}`;
    proxy = await startTcpProxy(port);
    pageUrl = (await servePage(PAGE, roomPageAssets())).url;
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await proxy?.close();
    await signal?.close();
  });

  async function bot(room: string) {
    const peer = await Peer.connect(signalUrl);
    peers.push(peer);
    const joined = await peer.join(room);
    await joined.openChannel("chat");
    return { peer, room: joined, messages: collect(joined) };
  }

  async function browser(room: string, via = signalUrl): Promise<Page> {
    const page = await (await (await launchChromium()).newContext()).newPage();
    page.on("pageerror", (err) => console.error("page error:", err));
    await page.goto(`${pageUrl}?url=${encodeURIComponent(via)}&room=${room}`);
    await page.waitForFunction(() => (window as unknown as PageWindow).sessionId !== undefined);
    return page;
  }
  const pageState = (page: Page) =>
    page.evaluate(() => {
      const w = window as unknown as PageWindow;
      return { sessionId: w.sessionId, resumed: w.resumed, tracks: w.tracks };
    });
  /** Waits until our "chat" channel to `id` is open (the bot opens it once the member's first offer is in). */
  const chatOpen = (room: Room, id: string) =>
    expect.poll(() => room.members.get(id)?.channel("chat")?.readyState, { timeout: 20_000 }).toBe("open");
  const inbox = (page: Page) => page.evaluate(() => (window as unknown as PageWindow).inbox);

  it("connects everyone to everyone, relays the browser's video from one bot to the other, and survives a leave", async () => {
    const a = await bot("mesh");
    const b = await bot("mesh");
    // Bot A relays every video it receives from the browser into the room.
    a.room.on("track", (member, track) => {
      if (track.kind === "video" && member.id !== b.peer.id) {
        a.room.addTrack(relayTrack(track).track);
        void member.requestKeyframe();
      }
    });
    const relayedAtB = { packets: 0 };
    b.room.on("track", (member, track) => {
      if (member.id === a.peer.id && track.kind === "video") track.onReceiveRtp.subscribe(() => relayedAtB.packets++);
    });
    const page = await browser("mesh");
    const browserId = (await pageState(page)).sessionId!;

    await chatOpen(b.room, a.peer.id);
    await chatOpen(a.room, browserId);
    await chatOpen(b.room, browserId);
    await a.room.send("chat", "from-a");
    await b.room.send("chat", "from-b");
    await expect.poll(() => a.messages, { timeout: 20_000 }).toContain(`${browserId}:echo:from-a`);
    await expect.poll(() => b.messages, { timeout: 20_000 }).toContain(`${browserId}:echo:from-b`);
    await expect.poll(() => b.messages, { timeout: 20_000 }).toContain(`${a.peer.id}:from-a`);
    await expect.poll(() => relayedAtB.packets, { timeout: 20_000 }).toBeGreaterThan(30);

    await b.room.leave();
    await expect.poll(() => a.room.members.has(b.peer.id), { timeout: 10_000 }).toBe(false);
    await a.room.send("chat", "after-b-left");
    await expect.poll(() => a.messages, { timeout: 10_000 }).toContain(`${browserId}:echo:after-b-left`);
    await page.close();
  });

  it("recovers when the browser reloads mid-call (a new session, a new connection)", async () => {
    const a = await bot("reload");
    const page = await browser("reload");
    const first = (await pageState(page)).sessionId!;
    await chatOpen(a.room, first);
    await a.room.send("chat", "before");
    await expect.poll(() => a.messages, { timeout: 20_000 }).toContain(`${first}:echo:before`);
    await page.reload();
    await page.waitForFunction(() => (window as unknown as PageWindow).sessionId !== undefined);
    const second = (await pageState(page)).sessionId!;
    expect(second).not.toBe(first);
    await expect.poll(() => [...a.room.members.keys()], { timeout: 10_000 }).toEqual([second]);
    await expect
      .poll(
        async () => {
          await a.room.send("chat", "after");
          return a.messages.includes(`${second}:echo:after`);
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe(true);
    await page.close();
  });

  it("carries on when the browser's signalling connection drops and resumes", async () => {
    const a = await bot("resume");
    const page = await browser("resume", `ws://127.0.0.1:${proxy.port}`);
    const id = (await pageState(page)).sessionId!;
    await chatOpen(a.room, id);
    await a.room.send("chat", "one");
    await expect.poll(() => a.messages, { timeout: 20_000 }).toContain(`${id}:echo:one`);
    const member = a.room.members.get(id)!;
    proxy.cut();
    await expect.poll(async () => (await pageState(page)).resumed ?? 0, { timeout: 10_000 }).toBe(1);
    // Same member, same connection: media and data never stopped; and negotiation still works (a new channel).
    expect(a.room.members.get(id)).toBe(member);
    const extra = await member.openChannel("after-resume");
    await extra.send("two");
    await expect.poll(() => inbox(page), { timeout: 10_000 }).toContain("two");
    await page.close();
  });
});
