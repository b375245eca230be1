// Recording what Chromium sends (fake camera at 320×240 and mic) and checking the files with ffprobe/ffmpeg: codecs,
// the true picture size, duration, clean decoding; audio-only members go to Ogg/Opus; and a recording bot killed
// with SIGKILL leaves a file that still decodes.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Peer, Recorder, type RecordingFile } from "@parley/peer";
import { createSignalServer, type SignalServer } from "@parley/signal";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStartPage, roomPageAssets, servePage } from "../helpers/chromium.js";
import { decodeArgs } from "../helpers/ffmpeg.js";
import { startProgram } from "../helpers/programs.js";
import { hasTool } from "../helpers/require-tool.js";

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import { joinRoom } from "/parley-browser.js";
window.start = async (url, room, video) => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: video ? { width: 320, height: 240 } : false });
  window.session = await joinRoom({ url, room, stream });
  return window.session.client.sessionId;
};
window.stop = () => window.session.close();
</script>`;

interface Probe {
  streams: Array<{ codec_name: string; codec_type: string; width?: number; height?: number }>;
  format: { duration?: string; format_name: string };
}
const probe = (path: string): Probe =>
  JSON.parse(
    execFileSync("ffprobe", ["-v", "error", "-show_streams", "-show_format", "-of", "json", path], {
      encoding: "utf8",
    }),
  );
/** ffmpeg decodes every frame; what it prints at -v error are decoding errors. */
const decodeErrors = (path: string) => spawnSync("ffmpeg", decodeArgs(path), { encoding: "utf8" }).stderr.trim();
/** Duration from decoding (works for files without a duration header too). */
const decodedSeconds = (path: string) => {
  const out = spawnSync("ffmpeg", ["-i", path, "-f", "null", "-"], { encoding: "utf8" }).stderr;
  const times = [...out.matchAll(/time=(\d+):(\d+):([\d.]+)/g)].at(-1);
  return times ? Number(times[1]) * 3600 + Number(times[2]) * 60 + Number(times[3]) : 0;
};

describe.skipIf(!hasTool("chromium") || !hasTool("ffmpeg"))("recording Chromium", () => {
  let signal: SignalServer;
  let signalUrl: string;
  let pageUrl: string;

  beforeAll(async () => {
    signal = createSignalServer();
    signalUrl = `ws://127.0.0.1:${await signal.listen(0)}`;
    pageUrl = (await servePage(PAGE, roomPageAssets())).url;
  });
  afterAll(() => signal?.close());

  async function browser(room: string, video: boolean): Promise<{ page: Page; id: string }> {
    const page = await openStartPage(pageUrl);
    const id = await page.evaluate(
      ([u, r, v]) =>
        (window as unknown as { start(u: string, r: string, v: boolean): Promise<string> }).start(
          u as string,
          r as string,
          v as boolean,
        ),
      [signalUrl, room, video] as const,
    );
    return { page, id };
  }

  /** Files under `dir` that this process holds open (Linux: /proc/self/fd). */
  function openFilesUnder(dir: string): string[] {
    return readdirSync("/proc/self/fd")
      .map((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return ""; // closed meanwhile (the directory listing's own fd)
        }
      })
      .filter((target) => target.startsWith(dir));
  }

  async function record(room: string, video: boolean, seconds: number): Promise<RecordingFile> {
    const dir = mkdtempSync(join(tmpdir(), "parley-rec-"));
    const bot = await Peer.connect(signalUrl);
    try {
      const joined = await bot.join(room);
      const recorder = await Recorder.start(joined, { dir });
      const started = new Promise<RecordingFile>((r) => recorder.once("started", r));
      const { page } = await browser(room, video);
      const file = await started;
      // "started" means the file is open; media reaches it once the sender's first keyframe and RTCP sender reports
      // (lip-sync) have come, which takes seconds on a loaded machine. The stay is timed from the first media.
      await expect
        .poll(() => (existsSync(file.path) ? statSync(file.path).size : 0), { timeout: 20_000 })
        .toBeGreaterThan(8 * 1024);
      await new Promise((r) => setTimeout(r, seconds * 1000));
      const finalized = new Promise<RecordingFile>((r) => recorder.once("finalized", r));
      await page.evaluate(() => (window as unknown as { stop(): void }).stop()); // the member leaves: file finalized
      const result = await finalized;
      await recorder.stop();
      // Nothing of the recording is left open in this process once it is finalized and stopped.
      expect(openFilesUnder(dir)).toEqual([]);
      await page.close();
      return result;
    } finally {
      await bot.close();
    }
  }

  it("records camera and mic to WebM with VP8 + Opus at the sender's true size, seekable and decodable", async () => {
    const rec = await record("rec-av", true, 4);
    expect(rec.format).toBe("webm");
    const info = probe(rec.path);
    const video = info.streams.find((s) => s.codec_type === "video");
    const audio = info.streams.find((s) => s.codec_type === "audio");
    expect(video).toMatchObject({ codec_name: "vp8", width: 320, height: 240 });
    expect(audio?.codec_name).toBe("opus");
    const duration = Number(info.format.duration);
    expect(duration).toBeGreaterThan(2.5);
    expect(duration).toBeLessThan(7);
    expect(decodeErrors(rec.path)).toBe("");
    // Seekable: Cues are written on a clean stop, so a seek decodes a frame without scanning from the start.
    const seek = spawnSync("ffmpeg", ["-v", "error", "-ss", "2", "-i", rec.path, "-frames:v", "1", "-f", "null", "-"], {
      encoding: "utf8",
    });
    expect(seek.status).toBe(0);
    expect(seek.stderr.trim()).toBe("");
    expect(readFileSync(rec.path).includes(Buffer.from([0x1c, 0x53, 0xbb, 0x6b]))).toBe(true); // Cues element
  });

  it("records an audio-only member to Ogg/Opus", async () => {
    const rec = await record("rec-audio", false, 3);
    expect(rec.format).toBe("ogg");
    const info = probe(rec.path);
    expect(info.streams.map((s) => s.codec_name)).toEqual(["opus"]);
    expect(info.format.format_name).toBe("ogg");
    expect(decodedSeconds(rec.path)).toBeGreaterThan(1.5);
    expect(decodeErrors(rec.path)).toBe("");
  });

  it("leaves a decodable file when the recording bot is killed with SIGKILL", async () => {
    const dir = mkdtempSync(join(tmpdir(), "parley-kill-"));
    const bot = await startProgram({
      name: "recording-bot",
      command: process.execPath,
      args: [
        fileURLToPath(new URL("../../examples/recording-bot/bot.mjs", import.meta.url)),
        signalUrl,
        "rec-kill",
        dir,
      ],
      readyLine: /recording room/,
    });
    const { page } = await browser("rec-kill", true);
    await expect.poll(() => bot.output(), { timeout: 20_000 }).toMatch(/recording: .*\.webm/);
    await new Promise((r) => setTimeout(r, 4000));
    bot.process.kill("SIGKILL");
    await new Promise((r) => bot.process.once("exit", r));
    const path = /recording: (.*\.webm)/.exec(bot.output())![1]!;
    expect(
      probe(path)
        .streams.map((s) => s.codec_name)
        .sort(),
    ).toEqual(["opus", "vp8"]);
    expect(decodedSeconds(path)).toBeGreaterThan(1.5);
    await page.close();
  });

  it("finalizes a member's file when its connection is renewed, and records the new connection to a second file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "parley-renew-"));
    const bot = await Peer.connect(signalUrl);
    try {
      const joined = await bot.join("rec-renew");
      const recorder = await Recorder.start(joined, { dir });
      const started: RecordingFile[] = [];
      const finalized: RecordingFile[] = [];
      recorder.on("started", (f) => started.push(f));
      recorder.on("finalized", (f) => finalized.push(f));
      const { page, id } = await browser("rec-renew", true);
      const hasMedia = (file: RecordingFile | undefined) =>
        file !== undefined && existsSync(file.path) && statSync(file.path).size > 8 * 1024;
      await expect.poll(() => hasMedia(started[0]), { timeout: 20_000 }).toBe(true);
      await new Promise((r) => setTimeout(r, 2000));

      joined.members.get(id)!.renew();
      await expect.poll(() => finalized.length, { timeout: 10_000 }).toBe(1);
      await expect.poll(() => hasMedia(started[1]), { timeout: 20_000 }).toBe(true);
      await new Promise((r) => setTimeout(r, 2000));
      await page.evaluate(() => (window as unknown as { stop(): void }).stop());
      await expect.poll(() => finalized.length, { timeout: 10_000 }).toBe(2);
      await recorder.stop();
      await page.close();

      expect(finalized.map((f) => f.path)).toEqual(started.map((f) => f.path));
      expect(new Set(finalized.map((f) => f.path)).size).toBe(2);
      for (const file of finalized) {
        const video = probe(file.path).streams.find((s) => s.codec_type === "video");
        expect(video).toMatchObject({ codec_name: "vp8", width: 320, height: 240 });
        expect(decodedSeconds(file.path)).toBeGreaterThan(1);
        expect(decodeErrors(file.path)).toBe("");
      }
    } finally {
      await bot.close();
    }
  });
});
