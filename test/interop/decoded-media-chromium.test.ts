// Decoded media between a Parley bot and Debian's Chromium, checked by content rather than packet counts: the page
// plays a WebAudio oscillator and the bot finds its frequency in the PCM it decodes; the bot speaks a tone and the
// page's AnalyserNode finds it. The page sends a canvas of one colour and the bot's RGBA frames average to it; the bot
// draws a colour and the page reads it back from a <video> through a canvas.
import { type DecodedFrame, Peer, type VideoFrame, VideoSource, VideoStream } from "@parley/peer";
import { createSignalServer, type SignalServer } from "@parley/signal";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, openStartPage, roomPageAssets, servePage } from "../helpers/chromium.js";
import { hasTool } from "../helpers/require-tool.js";
import { toneBot } from "../helpers/tone-bot.js";

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import { joinRoom } from "/parley-browser.js";
const audio = new AudioContext({ sampleRate: 48000 });
window.start = async (url, room, hz, colour) => {
  await audio.resume();
  const osc = new OscillatorNode(audio, { frequency: hz });
  const out = audio.createMediaStreamDestination();
  osc.connect(new GainNode(audio, { gain: 0.3 })).connect(out);
  osc.start();
  // A canvas of one colour, repainted so the capture keeps producing frames.
  const canvas = Object.assign(document.createElement("canvas"), { width: 320, height: 240 });
  const paint = () => {
    const g = canvas.getContext("2d");
    g.fillStyle = colour;
    g.fillRect(0, 0, canvas.width, canvas.height);
  };
  paint();
  setInterval(paint, 50);
  const stream = new MediaStream([...out.stream.getAudioTracks(), ...canvas.captureStream(20).getVideoTracks()]);
  window.session = await joinRoom({
    url, room, stream,
    onTrack: (_id, e) => {
      if (e.track.kind === "audio") listen(e.track);
      else watch(e.track);
    },
  });
  return window.session.client.sessionId;
};
function watch(track) {
  const video = Object.assign(document.createElement("video"), { muted: true, autoplay: true, playsInline: true });
  video.srcObject = new MediaStream([track]);
  document.body.append(video);
  video.play().catch(() => {});
  window.video = video;
}
window.seenColour = () => {
  const v = window.video;
  if (!v || v.videoWidth === 0) return null;
  const c = Object.assign(document.createElement("canvas"), { width: v.videoWidth, height: v.videoHeight });
  const g = c.getContext("2d");
  g.drawImage(v, 0, 0);
  const px = g.getImageData(0, 0, c.width, c.height).data;
  const sum = [0, 0, 0];
  for (let i = 0; i < px.length; i += 4) for (let k = 0; k < 3; k++) sum[k] += px[i + k];
  const n = px.length / 4;
  return { width: c.width, height: c.height, rgb: sum.map((x) => Math.round(x / n)) };
};
function listen(track) {
  const stream = new MediaStream([track]);
  // Chromium feeds a remote track to WebAudio only while a media element plays it.
  const element = new Audio();
  element.srcObject = stream;
  element.muted = true;
  element.play().catch(() => {});
  const analyser = new AnalyserNode(audio, { fftSize: 32768, smoothingTimeConstant: 0 });
  audio.createMediaStreamSource(stream).connect(analyser);
  window.analyser = analyser;
}
window.heardPeak = () => {
  const a = window.analyser;
  if (!a) return null;
  const bins = new Float32Array(a.frequencyBinCount);
  a.getFloatFrequencyData(bins);
  let best = 1;
  for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
  return { hz: (best * audio.sampleRate) / a.fftSize, db: bins[best] };
};
</script>`;

interface PageApi {
  start(url: string, room: string, hz: number, colour: string): Promise<string>;
  heardPeak(): { hz: number; db: number } | null;
  seenColour(): { width: number; height: number; rgb: [number, number, number] } | null;
}

/** Mean colour of an RGBA frame. */
function meanRgb(frame: DecodedFrame): [number, number, number] {
  const sum = [0, 0, 0];
  for (let i = 0; i < frame.data.length; i += 4) for (let c = 0; c < 3; c++) sum[c]! += frame.data[i + c]!;
  return sum.map((v) => Math.round(v / (frame.data.length / 4))) as [number, number, number];
}

const near = (a: readonly number[], b: readonly number[], tolerance: number) =>
  a.every((v, i) => Math.abs(v - b[i]!) <= tolerance);

describe.skipIf(!hasTool("chromium"))("decoded media between a Parley bot and Chromium", () => {
  let signal: SignalServer;
  let signalUrl: string;
  let pageUrl: string;
  let page: Page | undefined;
  const bots: Peer[] = [];

  beforeAll(async () => {
    signal = createSignalServer();
    signalUrl = `ws://127.0.0.1:${await signal.listen(0)}`;
    pageUrl = (await servePage(PAGE, roomPageAssets())).url;
  });
  afterEach(async () => {
    await page?.context().close();
    await Promise.all(bots.splice(0).map((b) => b.close()));
  });
  afterAll(async () => {
    await signal?.close();
  });

  it("hears the page's 440 Hz oscillator in its PCM, and the page's AnalyserNode hears the bot's 1 kHz", async () => {
    const bot = await Peer.connect(signalUrl);
    bots.push(bot);
    const room = await bot.join("tones", { receive: { audio: true, video: false } });
    const tones = toneBot(room, 1000);

    page = await openStartPage(pageUrl, await launchChromium(["--autoplay-policy=no-user-gesture-required"]));
    await page.evaluate(([u, r]) => (window as unknown as PageApi).start(u!, r!, 440, "#000"), [signalUrl, "tones"]);

    // The bot: a second of loud audio, then its spectrum.
    await expect.poll(() => tones.loud().length, { timeout: 20_000 }).toBeGreaterThan(60);
    const heard = tones.heard();
    console.log(`bot heard ${heard.hz.toFixed(1)} Hz (${(heard.share * 100).toFixed(0)} % of the energy)`);
    expect(Math.abs(heard.hz - 440)).toBeLessThanOrEqual(5);
    expect(tones.streams[0]!.stats.badPackets).toBe(0);

    // The page: its analyser's strongest bin (1.46 Hz wide) at 1 kHz, well above the noise floor.
    await expect
      .poll(
        async () => {
          const p = await page!.evaluate(() => (window as unknown as PageApi).heardPeak());
          return p !== null && p.db > -60 && Math.abs(p.hz - 1000) <= 3;
        },
        { timeout: 20_000 },
      )
      .toBe(true);
    await tones.stop();
  });

  it("reads the page's canvas colour from decoded RGBA frames, and the page sees the colour the bot draws", async () => {
    const bot = await Peer.connect(signalUrl);
    bots.push(bot);
    const room = await bot.join("colours", { receive: { audio: false, video: true } });
    const source = new VideoSource();
    room.addTrack(source.track);
    const drawn: VideoFrame = { format: "rgba", width: 320, height: 240, data: new Uint8Array(320 * 240 * 4) };
    for (let i = 0; i < drawn.data.length; i += 4) drawn.data.set([20, 200, 60, 255], i);
    let drawing = true;
    const drawer = (async () => {
      while (drawing) await source.write(drawn);
    })();
    const streams: VideoStream[] = [];
    let latest: DecodedFrame | undefined;
    room.on("track", (member, track) => {
      if (track.kind !== "video") return;
      const stream = new VideoStream(track, { member, maxFps: 10 });
      streams.push(stream);
      void (async () => {
        for await (const f of stream) latest = f;
      })();
    });

    page = await openStartPage(pageUrl, await launchChromium(["--autoplay-policy=no-user-gesture-required"]));
    // Dodger blue: (30, 144, 255).
    await page.evaluate(
      ([u, r]) => (window as unknown as PageApi).start(u!, r!, 440, "#1e90ff"),
      [signalUrl, "colours"],
    );

    await expect
      .poll(() => latest !== undefined && near(meanRgb(latest), [30, 144, 255], 6), { timeout: 20_000 })
      .toBe(true);
    console.log(
      `bot read the canvas as ${meanRgb(latest!)} (${latest!.width}×${latest!.height}, declared ` +
        `${JSON.stringify(latest!.colorSpace)}), drew (20, 200, 60)`,
    );
    expect(latest).toMatchObject({ width: 320, height: 240, format: "rgba" });

    await expect
      .poll(
        async () => {
          const seen = await page!.evaluate(() => (window as unknown as PageApi).seenColour());
          return seen !== null && seen.width === 320 && near(seen.rgb, [20, 200, 60], 6);
        },
        { timeout: 20_000 },
      )
      .toBe(true);
    console.log(`page saw ${(await page.evaluate(() => (window as unknown as PageApi).seenColour()))!.rgb}`);
    drawing = false;
    await drawer;
    source.close();
    for (const s of streams) s.close();
  });
});
