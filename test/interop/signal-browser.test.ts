// @parley/signal's browser bundle in Debian's Chromium: the page's client and a Node client meet in a room and
// exchange signals and broadcasts both ways; the page survives a cut connection by resuming its session.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createSignalServer, SignalClient, type SignalMessage, type SignalServer } from "@parley/signal";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTcpProxy, type TcpProxy } from "../../packages/signal/test/helpers/tcp-proxy.js";
import { openStartPage, servePage } from "../helpers/chromium.js";
import { hasTool } from "../helpers/require-tool.js";

const bundle = fileURLToPath(new URL("../../packages/signal/dist/browser/parley-signal.js", import.meta.url));

// The page keeps what it hears in window.log, so the test reads it back with page.evaluate.
const PAGE = `<!doctype html><script type="module">
  import { SignalClient } from "/parley-signal.js";
  window.log = [];
  window.start = async (url) => {
    const client = await SignalClient.connect(url, { reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
    window.client = client;
    for (const ev of ["signal", "broadcast", "member-joined", "resumed", "reconnecting"]) {
      client.on(ev, (...args) => window.log.push({ ev, args: JSON.parse(JSON.stringify(args)) }));
    }
    const room = await client.join("browser-room", { agent: "chromium" });
    return { id: client.sessionId, members: [...room.members.keys()] };
  };
</script>`;

interface PageWindow {
  log: Array<{ ev: string; args: unknown[] }>;
  start(url: string): Promise<{ id: string; members: string[] }>;
  client: SignalClient;
}

describe.skipIf(!hasTool("chromium"))("the browser client in Chromium", () => {
  let server: SignalServer;
  let proxy: TcpProxy;
  let node: SignalClient;
  let page: Page;
  let browserId: string;

  beforeAll(async () => {
    server = createSignalServer();
    const port = await server.listen(0);
    proxy = await startTcpProxy(port);
    node = await SignalClient.connect(`ws://127.0.0.1:${port}`);
    await node.join("browser-room", { agent: "node" });
    const { url } = await servePage(PAGE, { "/parley-signal.js": readFileSync(bundle) });
    page = await openStartPage(url);
    const joined = await page.evaluate(
      (u) => (window as unknown as PageWindow).start(u),
      `ws://127.0.0.1:${proxy.port}`,
    );
    browserId = joined.id;
    expect(joined.members).toEqual([node.sessionId]);
  });
  afterAll(async () => {
    node.close();
    await proxy.close();
    await server.close();
  });

  const pageLog = () => page.evaluate(() => (window as unknown as PageWindow).log);

  it("exchanges signals with a Node client both ways, with the sender stamped by the server", async () => {
    const fromPage = new Promise<SignalMessage>((resolve) => node.once("signal", resolve));
    await page.evaluate(
      ([to]) => (window as unknown as PageWindow).client.signal("browser-room", to!, "offer", { sdp: "from chromium" }),
      [node.sessionId],
    );
    expect(await fromPage).toMatchObject({ from: browserId, kind: "offer", payload: { sdp: "from chromium" } });
    await node.signal("browser-room", browserId, "answer", { sdp: "from node" });
    await node.broadcast("browser-room", { chat: "hello page" });
    await expect.poll(async () => (await pageLog()).map((e) => e.ev)).toEqual(["signal", "broadcast"]);
    const [signal, broadcast] = await pageLog();
    expect(signal!.args[0]).toMatchObject({ from: node.sessionId, kind: "answer", payload: { sdp: "from node" } });
    expect(broadcast!.args[0]).toMatchObject({ from: node.sessionId, payload: { chat: "hello page" } });
  });

  it("resumes after its connection is cut and receives what was sent in the gap", async () => {
    proxy.refusing = true;
    proxy.cut();
    await expect.poll(async () => (await pageLog()).some((e) => e.ev === "reconnecting")).toBe(true);
    for (let n = 0; n < 5; n++) await node.signal("browser-room", browserId, "candidate", { n });
    proxy.refusing = false;
    await expect.poll(async () => (await pageLog()).some((e) => e.ev === "resumed"), { timeout: 5000 }).toBe(true);
    await expect
      .poll(
        async () =>
          (await pageLog()).filter((e) => e.ev === "signal" && (e.args[0] as SignalMessage).kind === "candidate")
            .length,
      )
      .toBe(5);
    const ns = (await pageLog())
      .filter((e) => e.ev === "signal" && (e.args[0] as SignalMessage).kind === "candidate")
      .map((e) => ((e.args[0] as SignalMessage).payload as { n: number }).n);
    expect(ns).toEqual([0, 1, 2, 3, 4]);
    expect(await page.evaluate(() => (window as unknown as PageWindow).client.sessionId)).toBe(browserId);
  });
});
