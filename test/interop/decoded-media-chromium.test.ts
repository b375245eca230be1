// Decoded media between a Parley bot and Debian's Chromium, checked by signal content rather than packet counts: the
// page plays a WebAudio oscillator and the bot finds its frequency in the PCM it decodes; the bot speaks a tone and the
// page's AnalyserNode finds it.
import { type AudioFrame, AudioSource, AudioStream, Peer } from "@parley/peer";
import { createSignalServer, type SignalServer } from "@parley/signal";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, openStartPage, roomPageAssets, servePage } from "../helpers/chromium.js";
import { hasTool } from "../helpers/require-tool.js";
import { firstChannel, joinSamples, peak, rms, sine } from "../helpers/tone.js";

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import { joinRoom } from "/parley-browser.js";
const audio = new AudioContext({ sampleRate: 48000 });
window.start = async (url, room, hz) => {
  await audio.resume();
  const osc = new OscillatorNode(audio, { frequency: hz });
  const out = audio.createMediaStreamDestination();
  osc.connect(new GainNode(audio, { gain: 0.3 })).connect(out);
  osc.start();
  window.session = await joinRoom({
    url, room, stream: out.stream,
    onTrack: (_id, e) => { if (e.track.kind === "audio") listen(e.track); },
  });
  return window.session.client.sessionId;
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
  start(url: string, room: string, hz: number): Promise<string>;
  heardPeak(): { hz: number; db: number } | null;
}

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
    const source = new AudioSource();
    room.addTrack(source.track);
    let speaking = true;
    const tone = sine(1000, 1);
    const speaker = (async () => {
      while (speaking) await source.write(tone);
    })();
    const frames: AudioFrame[] = [];
    const streams: AudioStream[] = [];
    room.on("track", (_m, track) => {
      if (track.kind !== "audio") return;
      const stream = new AudioStream(track);
      streams.push(stream);
      void (async () => {
        for await (const f of stream) frames.push(f);
      })();
    });

    page = await openStartPage(pageUrl, await launchChromium(["--autoplay-policy=no-user-gesture-required"]));
    await page.evaluate(([u, r]) => (window as unknown as PageApi).start(u!, r!, 440), [signalUrl, "tones"]);

    // The bot: a second of loud audio, then its spectrum.
    await expect
      .poll(() => frames.filter((f) => rms(firstChannel(f.data, f.channels)) > 0.05).length, { timeout: 20_000 })
      .toBeGreaterThan(60);
    const loud = frames.filter((f) => rms(firstChannel(f.data, f.channels)) > 0.05).slice(-50);
    const pcm = joinSamples(loud.map((f) => f.data));
    const heard = peak(firstChannel(pcm, loud[0]!.channels), 48_000);
    console.log(`bot heard ${heard.hz.toFixed(1)} Hz (${(heard.share * 100).toFixed(0)} % of the energy)`);
    expect(Math.abs(heard.hz - 440)).toBeLessThanOrEqual(5);
    expect(streams[0]!.stats.badPackets).toBe(0);

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
    speaking = false;
    source.close();
    await speaker;
    for (const s of streams) s.close();
  });
});
