// @parley/browser's bundle in Chromium, at its edges: joinRoom refuses bad options with a typed INVALID_OPTION error
// before touching the network, reports a server that is not there as the client's CONNECT_FAILED, and close() ends
// every peer connection and the signalling session (the room sees the page leave).
import { createSignalServer, SignalClient, type SignalServer } from "@parley/signal";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStartPage, roomPageAssets, servePage } from "../helpers/chromium.js";
import { hasTool } from "../helpers/require-tool.js";

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import { joinRoom, RoomClientError } from "/parley-browser.js";
window.attempt = async (options) => {
  try {
    const session = await joinRoom(options);
    window.session = session;
    return { ok: true, id: session.client.sessionId };
  } catch (err) {
    return { ok: false, name: err.name, code: err.code, message: err.message, typed: err instanceof RoomClientError };
  }
};
window.renew = (id) => window.session.renew(id);
window.members = () => [...window.session.members.keys()];
window.leave = () => {
  const pcs = [...window.session.members.values()].map((m) => m.pc);
  window.session.close();
  return { signaling: pcs.map((pc) => pc.signalingState), left: window.session.members.size };
};
window.start = true;
</script>`;

type Outcome = { ok: boolean; id?: string; name?: string; code?: string; message?: string; typed?: boolean };
type W = {
  attempt(o: unknown): Promise<Outcome>;
  members(): string[];
  renew(id: string): void;
  leave(): { signaling: string[]; left: number };
};

describe.skipIf(!hasTool("chromium"))("@parley/browser joinRoom in Chromium", () => {
  let server: SignalServer;
  let url: string;
  let page: Page;

  beforeAll(async () => {
    server = createSignalServer();
    url = `ws://127.0.0.1:${await server.listen(0)}`;
    page = await openStartPage((await servePage(PAGE, roomPageAssets())).url);
  });
  afterAll(() => server?.close());

  const attempt = (options: unknown) => page.evaluate((o) => (window as unknown as W).attempt(o), options);

  const bad: Array<[string, (url: string) => unknown, RegExp]> = [
    ["no options", () => null, /expects an options object/],
    [
      "an http URL",
      () => ({ url: "http://127.0.0.1/", room: "r" }),
      /url must be a ws:\/\/ or wss:\/\/ URL, got "http/,
    ],
    ["no room", (u) => ({ url: u }), /room must be a non-empty string, got undefined/],
    ["an empty room", (u) => ({ url: u, room: "" }), /room must be a non-empty string, got ""/],
    ["an unknown ICE policy", (u) => ({ url: u, room: "r", iceTransportPolicy: "any" }), /"all" or "relay", got "any"/],
  ];
  for (const [what, options, message] of bad) {
    it(`refuses ${what} with RoomClientError INVALID_OPTION`, async () => {
      const outcome = await attempt(options(url));
      expect(outcome).toMatchObject({ ok: false, name: "RoomClientError", code: "INVALID_OPTION", typed: true });
      expect(outcome.message).toMatch(message);
    });
  }

  it("reports a server that is not there as CONNECT_FAILED", async () => {
    expect(await attempt({ url: "ws://127.0.0.1:1/", room: "r" })).toMatchObject({
      ok: false,
      name: "SignalError",
      code: "CONNECT_FAILED",
    });
  });

  it("joins, connects to a member, and on close() leaves the room and ends the connection", async () => {
    const node = await SignalClient.connect(url);
    await node.join("edges");
    const left = new Promise<string>((resolve) => node.on("member-left", (_room, id) => resolve(id)));
    const joined = await attempt({ url, room: "edges" });
    expect(joined.ok).toBe(true);
    expect(await page.evaluate(() => (window as unknown as W).members())).toEqual([node.sessionId]);
    expect(await page.evaluate(() => (window as unknown as W).leave())).toEqual({ signaling: ["closed"], left: 0 });
    expect(await left).toBe(joined.id);
    node.close();
  });

  it("repeats a renewal the member never confirms on the slow schedule (PROTOCOL.md: no sooner than 5 s), not at once", async () => {
    // A member that knows no renewals: it confirms nothing and answers nothing.
    const node = await SignalClient.connect(url);
    await node.join("unconfirmed");
    const renews: Array<{ n: number; at: number }> = [];
    node.on("signal", (message) => {
      const n = (message.payload as { renew?: number } | null)?.renew;
      if (message.kind === "restart" && n !== undefined) renews.push({ n, at: Date.now() });
    });
    expect((await attempt({ url, room: "unconfirmed" })).ok).toBe(true);
    const asked = Date.now();
    await page.evaluate((id) => (window as unknown as W).renew(id), node.sessionId);
    await expect.poll(() => renews.map((r) => r.n), { timeout: 5_000 }).toEqual([1]);
    // 10 s for the confirmation, then the first slow step (5 s).
    await expect.poll(() => renews.map((r) => r.n), { timeout: 20_000, interval: 200 }).toEqual([1, 2]);
    const gap = renews[1]!.at - renews[0]!.at;
    console.log(`unconfirmed renewal repeated after ${gap} ms`);
    expect(renews[0]!.at - asked).toBeLessThan(2_000);
    expect(gap).toBeGreaterThanOrEqual(14_000);
    await page.evaluate(() => (window as unknown as W).leave());
    node.close();
  });
});
