// The README's first command, end to end: the demo's page in headless Chromium with fake devices joins, the bot's
// echo actually plays, the chat answers, and after leaving a recording is listed, downloads, and passes ffprobe.
// A screenshot is saved as a test artifact (test-results/demo.png).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../helpers/chromium.js";
import { freePort } from "../helpers/ports.js";
import { hasTool } from "../helpers/require-tool.js";

const artifacts = fileURLToPath(new URL("../../test-results/", import.meta.url));

describe.skipIf(!hasTool("chromium") || !hasTool("ffmpeg"))("the demo", () => {
  let demo: { url: string; close(): Promise<void> };
  const logs: string[] = [];

  beforeAll(async () => {
    const { startDemo } = await import("../../examples/demo/server.mjs");
    demo = await startDemo({
      port: 0,
      turnPort: await freePort(),
      recordings: mkdtempSync(join(tmpdir(), "parley-demo-")),
      log: (line: string) => logs.push(line),
    });
  });
  afterAll(() => demo?.close());

  it("echoes the camera back, answers the chat, and records the call", async () => {
    const page = await (await (await launchChromium()).newContext()).newPage();
    page.on("pageerror", (err) => console.error("page error:", err));
    await page.goto(demo.url);
    await page.click("#join-button");
    await expect.poll(() => page.textContent("#status"), { timeout: 20_000 }).toMatch(/in room "demo"/);

    // The echoed video plays: it has a picture size and its clock advances.
    const echo = () =>
      page.$eval("#echo", (v) => {
        const video = v as HTMLVideoElement;
        return { width: video.videoWidth, height: video.videoHeight, time: video.currentTime };
      });
    await expect.poll(async () => (await echo()).width, { timeout: 30_000 }).toBeGreaterThan(0);
    const first = await echo();
    expect(first.height).toBeGreaterThan(0);
    await expect.poll(async () => (await echo()).time, { timeout: 10_000 }).toBeGreaterThan(first.time + 0.5);

    await expect.poll(() => page.isEnabled("#send"), { timeout: 20_000 }).toBe(true);
    await page.fill("#message", "hello bot");
    await page.click("#send");
    await expect.poll(() => page.textContent("#chat"), { timeout: 10_000 }).toContain("bot: echo: hello bot");

    await new Promise((r) => setTimeout(r, 2000));
    mkdirSync(artifacts, { recursive: true });
    writeFileSync(join(artifacts, "demo.png"), await page.screenshot({ fullPage: true }));

    await page.click("#leave-button");
    await expect.poll(() => page.$$eval("#recordings a", (as) => as.length), { timeout: 20_000 }).toBeGreaterThan(0);
    const href = await page.$eval("#recordings a", (a) => (a as HTMLAnchorElement).href);
    const body = Buffer.from(await (await fetch(href)).arrayBuffer());
    const file = join(mkdtempSync(join(tmpdir(), "parley-dl-")), "download.webm");
    writeFileSync(file, body);
    const probe = JSON.parse(
      execFileSync("ffprobe", ["-v", "error", "-show_streams", "-show_format", "-of", "json", file], {
        encoding: "utf8",
      }),
    ) as { streams: Array<{ codec_name: string; width?: number }>; format: { duration: string } };
    expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(["opus", "vp8"]);
    expect(probe.streams.find((s) => s.codec_name === "vp8")?.width).toBe(640);
    expect(Number(probe.format.duration)).toBeGreaterThan(2);
    expect(logs.some((l) => /recording finalized/.test(l))).toBe(true);
    await page.close();
  });
});
