import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll } from "vitest";
import { paths } from "./tools.mjs";

// The flags every Chromium in this project runs with: headless, no network beyond loopback, fake camera and mic.
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  // Without it Chromium gathers no relay candidate from a TURN server on 127.0.0.1 on a host whose other traffic is
  // blocked (README, "Testing with Chromium").
  "--allow-loopback-in-peer-connection",
];

const browsers = new Set<Browser>();
afterAll(async () => {
  for (const browser of browsers) await browser.close().catch(() => {});
  browsers.clear();
});

/**
 * Debian's Chromium through playwright-core (which gives it a fresh temporary profile), with CHROMIUM_FLAGS and
 * `extraFlags`; closed after the file.
 */
export async function launchChromium(extraFlags: string[] = []): Promise<Browser> {
  const args = [...CHROMIUM_FLAGS, ...extraFlags];
  const browser = await chromium.launch({ executablePath: paths.chromium, args, headless: true });
  browsers.add(browser);
  return browser;
}

/**
 * A test page at `url` in a context of its own (in `browser`, else a new Chromium), with page errors logged, once
 * its module script has defined `window.start` (what every test page here calls to begin).
 */
export async function openStartPage(url: string, browser?: Browser): Promise<Page> {
  const page = await (await (browser ?? (await launchChromium())).newContext()).newPage();
  page.on("pageerror", (err) => console.error("page error:", err));
  await page.goto(url);
  await page.waitForFunction(() => "start" in window);
  return page;
}

const TYPES: Record<string, string> = { ".js": "text/javascript", ".map": "application/json", ".html": "text/html" };

/**
 * Serves `html` at http://127.0.0.1:PORT/ (a secure context, so getUserMedia works) and `files` (path → contents)
 * beside it, e.g. the browser bundle of @parley/signal.
 */
export async function servePage(
  html: string,
  files: Record<string, string | Buffer> = {},
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const body = path === "/" ? html : files[path];
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[path.slice(path.lastIndexOf("."))] ?? "text/html" }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/`, server };
}

/**
 * What a test page needs to join a Parley room like the demo does: @parley/browser's prebuilt bundle (joinRoom and
 * the signalling client), served as /parley-browser.js beside the page (pass to servePage).
 */
export function roomPageAssets(): Record<string, Buffer> {
  return { "/parley-browser.js": readFileSync(createRequire(import.meta.url).resolve("@parley/browser/bundle")) };
}
