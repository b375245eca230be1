// aiortc (Debian's python3-aiortc) as a second, non-browser WebRTC stack in a room with a Parley bot. Its client for
// our protocol (aiortc/parley_peer.py) was written from PROTOCOL.md. Data flows both ways; media flows both ways:
// aiortc's synthetic audio/video to the bot, and to aiortc the bot's VP8 + Opus from ffmpeg over local RTP (the
// "feed a bot from ffmpeg" path, RtpInput). Then decoded audio both ways: aiortc sends a 440 Hz sine, the bot's
// AudioStream must find it; the bot's AudioSource speaks 1 kHz, aiortc's decoder must find that.
import { fileURLToPath } from "node:url";
import { Peer, type PeerError, RtpInput } from "@parley/peer";
import { createSignalServer, type SignalServer } from "@parley/signal";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ffmpegRtp } from "../helpers/ffmpeg.js";
import { type RunningProgram, startProgram } from "../helpers/programs.js";
import { hasTool } from "../helpers/require-tool.js";
import { toneBot } from "../helpers/tone-bot.js";
import { paths } from "../helpers/tools.mjs";

const script = fileURLToPath(new URL("aiortc/parley_peer.py", import.meta.url));

interface AiortcEvent {
  event: string;
  data?: string;
  kind?: string;
  audio?: number;
  video?: number;
  generation?: number;
  hz?: number;
  rms?: number;
}
/** The JSON lines parley_peer.py has printed so far. */
const eventsOf = (py: RunningProgram): AiortcEvent[] =>
  py
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as AiortcEvent);

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
  /** parley_peer.py joining `room` (extra arguments: `--tone HZ`), once it says it is ready. */
  const aiortc = (room: string, ...extra: string[]) =>
    startProgram({ name: "aiortc", command: paths.python, args: [script, url, room, ...extra], readyLine: /"ready"/ });

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

    const py = await aiortc("with-aiortc");
    const events = () => eventsOf(py);

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
    const py = await aiortc("tones-with-aiortc", "--tone", "440");
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

  it("follows a renewal by the bot (PROTOCOL.md, Peer conventions): the new connection carries data and audio both ways", async () => {
    const room = await bot.join("renew-with-aiortc", { receive: { audio: true, video: false } });
    const tones = toneBot(room, 1000, { sampleRate: 16_000, channels: 1 });
    void room.openChannel("chat");
    const messages: string[] = [];
    room.on("message", (_m, _c, data) => messages.push(String(data)));
    const errors: PeerError[] = [];
    room.on("error", (err) => errors.push(err));
    let renewedEvents = 0;
    room.on("member-renewed", () => renewedEvents++);
    const py = await aiortc("renew-with-aiortc", "--tone", "440");
    try {
      await expect.poll(() => messages, { timeout: 30_000 }).toContain("hello from aiortc");
      await expect.poll(() => tones.loud().length, { timeout: 30_000 }).toBeGreaterThan(60);
      const member = [...room.members.values()][0]!;
      const first = member.pc;
      const loudBefore = tones.loud().length;
      const renewedAt = Date.now();
      member.renew();

      await expect
        .poll(() => eventsOf(py).filter((e) => e.event === "renewed"), { timeout: 10_000 })
        .toEqual([{ event: "renewed", generation: 1 }]);
      // aiortc's own channel, opened again on the new connection, and the room's channel, echoed.
      await expect.poll(() => messages, { timeout: 20_000 }).toContain("hello again from aiortc");
      console.log(`aiortc followed the renewal: its channel open again ${Date.now() - renewedAt} ms after renew()`);
      expect(member.pc).not.toBe(first);
      expect(first.connectionState).toBe("closed");
      expect(renewedEvents).toBe(1);
      await expect.poll(() => member.channel("chat")?.readyState, { timeout: 10_000 }).toBe("open");
      await member.channel("chat")!.send("after renewal");
      await expect.poll(() => messages, { timeout: 10_000 }).toContain("echo:after renewal");

      // Audio both ways on the new connection: the bot decodes aiortc's 440 Hz from the new track, and aiortc's
      // count of decoded frames (the old connection is closed) grows by more than the second its peak is taken over.
      await expect.poll(() => tones.loud().length - loudBefore, { timeout: 30_000 }).toBeGreaterThan(60);
      expect(Math.abs(tones.heard().hz - 440)).toBeLessThanOrEqual(5);
      const audioFrames = () =>
        eventsOf(py)
          .filter((e) => e.event === "frames")
          .at(-1)?.audio ?? 0;
      const atRenewal = audioFrames();
      await expect.poll(() => audioFrames() - atRenewal, { timeout: 30_000 }).toBeGreaterThan(75);
      const peak = eventsOf(py)
        .filter((e) => e.event === "audio-peak")
        .at(-1)!;
      expect(peak.rms).toBeGreaterThan(0.05);
      expect(Math.abs(peak.hz! - 1000)).toBeLessThanOrEqual(5);
      expect(errors).toEqual([]);
    } finally {
      await tones.stop();
      await py.stop();
    }
  });
});
