// The README's first command, end to end: the demo's page in headless Chromium with fake devices joins, the bot's
// echo actually plays, the chat answers, and after leaving a recording is listed, downloads, and passes ffprobe.
// A screenshot is saved as a test artifact (test-results/demo.png).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { onFrames, RtpInput } from "@parley/peer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../helpers/chromium.js";
import { ffmpegRtp } from "../helpers/ffmpeg.js";
import { freePort } from "../helpers/ports.js";
import { hasTool } from "../helpers/require-tool.js";
import { whepWatch, whipPublish } from "../helpers/whip-client.js";

const artifacts = fileURLToPath(new URL("../../test-results/", import.meta.url));

type Watched = { cameraTracks: MediaStreamTrack[] };

/** Runs in the page before its scripts: keeps every track getUserMedia hands out, to check they are stopped. */
function watchCameraTracks(): void {
  const w = window as unknown as Watched;
  w.cameraTracks = [];
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await original(constraints);
    w.cameraTracks.push(...stream.getTracks());
    return stream;
  };
}

describe.skipIf(!hasTool("chromium") || !hasTool("ffmpeg"))("the demo", () => {
  let demo: { url: string; whipUrl: string; whepUrl: string; close(): Promise<void> };
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

  it("echoes the camera back, answers the chat, records the call, and stops the camera on Leave", async () => {
    const page = await (await (await launchChromium()).newContext()).newPage();
    page.on("pageerror", (err) => console.error("page error:", err));
    await page.addInitScript(watchCameraTracks);
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
    // The camera and microphone are released: every track getUserMedia gave the page has ended, no preview is left.
    const tracks = () => page.evaluate(() => (window as unknown as Watched).cameraTracks.map((t) => t.readyState));
    expect((await tracks()).length).toBe(2);
    await expect.poll(tracks, { timeout: 5000 }).toEqual(["ended", "ended"]);
    expect(await page.$eval("#local", (v) => (v as HTMLVideoElement).srcObject)).toBeNull();
    await expect.poll(() => page.$$eval("#recordings a", (as) => as.length), { timeout: 20_000 }).toBeGreaterThan(0);
    const href = await page.$eval("#recordings a", (a) => (a as HTMLAnchorElement).href);
    const body = Buffer.from(await (await fetch(href)).arrayBuffer());
    const file = join(mkdtempSync(join(tmpdir(), "parley-dl-")), "download.webm");
    writeFileSync(file, body);
    const listed = await page.$$eval("#recordings li", (items) => items.map((li) => li.textContent).join("; "));
    const probed = spawnSync("ffprobe", ["-v", "error", "-show_streams", "-show_format", "-of", "json", file], {
      encoding: "utf8",
    });
    expect(
      probed.status,
      `ffprobe of ${href} (${body.length} bytes; listed: ${listed}): ${probed.stderr}\ndemo log:\n${logs.join("\n")}`,
    ).toBe(0);
    const probe = JSON.parse(probed.stdout) as {
      streams: Array<{ codec_name: string; width?: number }>;
      format: { duration: string };
    };
    expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(["opus", "vp8"]);
    expect(probe.streams.find((s) => s.codec_name === "vp8")?.width).toBe(640);
    expect(Number(probe.format.duration)).toBeGreaterThan(2);
    expect(logs.some((l) => /recording finalized/.test(l))).toBe(true);
    await page.close();
  });

  it("takes WHIP into the demo room (the bot records it) and plays it over WHEP", async () => {
    const inputs = [await RtpInput.open({ kind: "video" }), await RtpInput.open({ kind: "audio" })];
    const ffmpeg = await ffmpegRtp(inputs[0]!.port, inputs[1]!.port);
    const rtc = {}; // the demo gathers the host's own addresses, as a deployment does
    const publisher = await whipPublish(
      demo.whipUrl,
      inputs.map((i) => i.track),
      undefined,
      rtc,
    );
    await expect.poll(() => logs.some((l) => /whip session in room "demo" started/.test(l))).toBe(true);
    let frames = 0;
    const viewer = await whepWatch(
      demo.whepUrl,
      (track) => {
        if (track.kind === "video") onFrames(track, () => frames++);
      },
      undefined,
      rtc,
    );
    await expect.poll(() => frames, { timeout: 30_000 }).toBeGreaterThan(30);
    await expect.poll(() => logs.some((l) => /recording \S+\.webm/.test(l)), { timeout: 20_000 }).toBe(true);
    await viewer.stop();
    await publisher.stop();
    await ffmpeg.stop();
    for (const input of inputs) input.close();
    await expect.poll(() => logs.filter((l) => /session ended: the client deleted it/.test(l)).length).toBe(2);
  });
});

describe.skipIf(!hasTool("chromium"))("the demo over https (PARLEY_TLS=self-signed)", () => {
  let demo: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    const { startDemo } = await import("../../examples/demo/server.mjs");
    const { demoTls } = await import("../../examples/demo/tls.mjs");
    const tls = await demoTls({ PARLEY_TLS: "self-signed" }, "127.0.0.1");
    demo = await startDemo({
      port: 0,
      turnPort: await freePort(),
      recordings: mkdtempSync(join(tmpdir(), "parley-demo-tls-")),
      log: () => {},
      ...(tls ? { tls } : {}),
    });
  });
  afterAll(() => demo?.close());

  it("serves a secure page whose camera works, and signalling over wss", async () => {
    expect(demo.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    // A visitor accepts the self-signed certificate once; ignoreHTTPSErrors is that click.
    const page = await (await (await launchChromium()).newContext({ ignoreHTTPSErrors: true })).newPage();
    page.on("pageerror", (err) => console.error("page error:", err));
    await page.goto(demo.url);
    expect(await page.evaluate(() => window.isSecureContext && location.protocol)).toBe("https:");
    await page.click("#join-button");
    await expect.poll(() => page.textContent("#status"), { timeout: 20_000 }).toMatch(/in room "demo"/);
    await expect.poll(() => page.isEnabled("#send"), { timeout: 20_000 }).toBe(true);
    await page.fill("#message", "over tls");
    await page.click("#send");
    await expect.poll(() => page.textContent("#chat"), { timeout: 10_000 }).toContain("bot: echo: over tls");
    // Plain ws:// to the https port is refused: the signalling really is behind TLS.
    const plain = await page.evaluate(
      (port) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/signal`);
          ws.onopen = () => resolve("open");
          ws.onerror = () => resolve("error");
        }),
      new URL(demo.url).port,
    );
    expect(plain).toBe("error");
    await page.click("#leave-button");
    await page.close();
  });
});
