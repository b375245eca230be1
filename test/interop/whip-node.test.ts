// WHIP and WHEP end to end with Node clients written from RFC 9725 (test/helpers/whip-client.ts): ffmpeg's VP8 + Opus
// is published into a room over WHIP, a bot in the room receives and records it, and a WHEP viewer receives it back.

import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createWhipServer, onFrames, Peer, Recorder, RtpInput, type WhipServer } from "@parley/peer";
import { createSignalServer, type SignalServer } from "@parley/signal";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ffmpegRtp } from "../helpers/ffmpeg.js";
import { hasTool } from "../helpers/require-tool.js";
import { whepWatch, whipPublish } from "../helpers/whip-client.js";

const LOOPBACK = {
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ["127.0.0.1"],
  iceFilterCandidatePair: (pair: { remoteCandidate: { host: string } }) => pair.remoteCandidate.host === "127.0.0.1",
} as const;

describe.skipIf(!hasTool("ffmpeg"))("WHIP and WHEP with Node clients", () => {
  let signal: SignalServer;
  let signalUrl: string;
  let whip: WhipServer;
  let http: Server;
  let base: string;
  let inputs: RtpInput[];

  beforeAll(async () => {
    signal = createSignalServer();
    signalUrl = `ws://127.0.0.1:${await signal.listen(0)}`;
    whip = createWhipServer({ signalUrl, peer: { rtc: LOOPBACK }, rtc: LOOPBACK });
    http = createServer((req, res) => {
      if (!whip.handle(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    inputs = [await RtpInput.open({ kind: "video" }), await RtpInput.open({ kind: "audio" })];
    await ffmpegRtp(inputs[0]!.port, inputs[1]!.port);
  });
  afterAll(async () => {
    for (const input of inputs ?? []) input.close();
    await whip?.close();
    http?.close();
    await signal?.close();
  });

  it("a WHIP publisher is a room member; a bot records it; a WHEP viewer receives it", async () => {
    const bot = await Peer.connect(signalUrl, { rtc: LOOPBACK });
    const room = await bot.join("stage");
    const frames = { audio: 0, video: 0 };
    room.on("track", (_m, track) => onFrames(track, () => frames[track.kind as "audio" | "video"]++));
    const dir = mkdtempSync(join(tmpdir(), "parley-whip-"));
    const recorder = await Recorder.start(room, { dir });

    const publisher = await whipPublish(
      `${base}/whip/stage`,
      inputs.map((i) => i.track),
    );
    expect(publisher.response.headers.get("content-type")).toBe("application/sdp");
    expect(publisher.response.headers.get("etag")).toMatch(/^".+"$/);
    await expect.poll(() => room.members.size, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => frames.video, { timeout: 20_000 }).toBeGreaterThan(30);
    await expect.poll(() => frames.audio, { timeout: 20_000 }).toBeGreaterThan(30);

    const seen = { audio: 0, video: 0 };
    const viewer = await whepWatch(`${base}/whep/stage`, (track) => {
      onFrames(track, () => seen[track.kind as "audio" | "video"]++);
    });
    await expect.poll(() => seen.video, { timeout: 20_000 }).toBeGreaterThan(30);
    await expect.poll(() => seen.audio, { timeout: 20_000 }).toBeGreaterThan(30);
    expect(whip.sessions.size).toBe(2);

    await viewer.stop();
    await publisher.stop();
    await expect.poll(() => whip.sessions.size, { timeout: 5000 }).toBe(0);
    await expect.poll(() => room.members.size, { timeout: 10_000 }).toBe(0);
    await recorder.stop();
    await bot.close();
  });
});
