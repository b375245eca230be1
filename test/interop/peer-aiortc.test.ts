// aiortc (Debian's python3-aiortc) as a second, non-browser WebRTC stack in a room with a Parley bot. Its client for
// our protocol (aiortc/parley_peer.py) was written from PROTOCOL.md. Data flows both ways; media flows both ways:
// aiortc's synthetic audio/video to the bot, and to aiortc the bot's VP8 + Opus from ffmpeg over local RTP (the
// "feed a bot from ffmpeg" path, RtpInput). Then decoded audio both ways: aiortc sends a 440 Hz sine, the bot's
// AudioStream must find it; the bot's AudioSource speaks 1 kHz, aiortc's decoder must find that.
import { fileURLToPath } from "node:url";
import { Peer, RtpInput } from "@parley/peer";
import { createSignalServer, type SignalServer } from "@parley/signal";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ffmpegRtp } from "../helpers/ffmpeg.js";
import { startProgram } from "../helpers/programs.js";
import { hasTool } from "../helpers/require-tool.js";
import { toneBot } from "../helpers/tone-bot.js";
import { paths } from "../helpers/tools.mjs";

const script = fileURLToPath(new URL("aiortc/parley_peer.py", import.meta.url));

describe.skipIf(!hasTool("aiortc") || !hasTool("ffmpeg"))("a Parley bot and aiortc in one room", () => {
  let signal: SignalServer;
  let url: string;
  let bot: Peer;
  let inputs: RtpInput[];

  beforeAll(async () => {
    signal = createSignalServer();
    url = `ws://127.0.0.1:${await signal.listen(0)}`;
    bot = await Peer.connect(url);
    inputs = [await RtpInput.open({ kind: "video" }), await RtpInput.open({ kind: "audio" })];
    await ffmpegRtp(inputs[0]!.port, inputs[1]!.port);
  });
  afterAll(async () => {
    for (const input of inputs ?? []) input.close();
    await bot?.close();
    await signal?.close();
  });

  it("moves data both ways and media both ways", async () => {
    const room = await bot.join("with-aiortc");
    for (const input of inputs) room.addTrack(input.track);
    const received = { audio: 0, video: 0 };
    room.on("track", (_m, track) => track.onReceiveRtp.subscribe(() => received[track.kind as "audio" | "video"]++));
    const messages: string[] = [];
    room.on("message", (_m, _c, data) => messages.push(String(data)));

    const py = await startProgram({
      name: "aiortc",
      command: paths.python,
      args: [script, url, "with-aiortc"],
      readyLine: /"ready"/,
    });
    const events = () =>
      py
        .output()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { event: string; data?: string; kind?: string; audio?: number; video?: number });

    await expect.poll(() => messages, { timeout: 30_000 }).toContain("hello from aiortc");
    const member = [...room.members.values()][0]!;
    await member.channel("aiortc")!.send("hi python");
    await expect.poll(() => messages, { timeout: 10_000 }).toContain("echo:hi python");
    expect(
      events()
        .filter((e) => e.event === "message")
        .map((e) => e.data),
    ).toContain("hi python");

    await expect.poll(() => received.video, { timeout: 30_000 }).toBeGreaterThan(50);
    await expect.poll(() => received.audio, { timeout: 30_000 }).toBeGreaterThan(50);
    const frames = () =>
      events()
        .filter((e) => e.event === "frames")
        .at(-1) ?? { audio: 0, video: 0 };
    await expect.poll(() => frames().video ?? 0, { timeout: 30_000 }).toBeGreaterThan(20);
    await expect.poll(() => frames().audio ?? 0, { timeout: 30_000 }).toBeGreaterThan(20);
    expect(
      events()
        .filter((e) => e.event === "track")
        .map((e) => e.kind)
        .sort(),
    ).toEqual(["audio", "video"]);
    expect(inputs[0]!.packets).toBeGreaterThan(0);
    await py.stop();
  });

  it("hears aiortc's 440 Hz sine in decoded PCM, and aiortc hears the bot's 1 kHz", async () => {
    const room = await bot.join("tones-with-aiortc", { receive: { audio: true, video: false } });
    const tones = toneBot(room, 1000, { sampleRate: 16_000, channels: 1 });
    const py = await startProgram({
      name: "aiortc",
      command: paths.python,
      args: [script, url, "tones-with-aiortc", "--tone", "440"],
      readyLine: /"ready"/,
    });
    try {
      await expect.poll(() => tones.loud().length, { timeout: 30_000 }).toBeGreaterThan(60);
      const heard = tones.heard();
      console.log(`bot heard aiortc at ${heard.hz.toFixed(1)} Hz`);
      expect(Math.abs(heard.hz - 440)).toBeLessThanOrEqual(5);

      const peaks = () =>
        py
          .output()
          .split("\n")
          .filter((l) => l.includes('"audio-peak"'))
          .map((l) => JSON.parse(l) as { hz: number; rms: number });
      await expect.poll(() => peaks().some((p) => p.rms > 0.05), { timeout: 30_000 }).toBe(true);
      const loudest = peaks()
        .filter((p) => p.rms > 0.05)
        .at(-1)!;
      console.log(`aiortc heard the bot at ${loudest.hz.toFixed(1)} Hz (rms ${loudest.rms.toFixed(2)})`);
      expect(Math.abs(loudest.hz - 1000)).toBeLessThanOrEqual(5);
    } finally {
      await tones.stop();
      await py.stop();
    }
  });
});
