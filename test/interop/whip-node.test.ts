// WHIP and WHEP end to end with Node clients written from RFC 9725 (test/helpers/whip-client.ts): ffmpeg's VP8 + Opus
// is published into a room over WHIP, a bot in the room receives it, and a WHEP viewer receives it and restarts ICE.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { createWhipServer, onFrames, Peer, RtpInput, type WhipServer } from "@parley/peer";
import { createSignalServer, type SignalServer } from "@parley/signal";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ffmpegRtp } from "../helpers/ffmpeg.js";
import { startProgram } from "../helpers/programs.js";
import { hasTool } from "../helpers/require-tool.js";
import { restartIce, whepWatch, whipPublish } from "../helpers/whip-client.js";

const LOOPBACK = {
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ["127.0.0.1"],
  iceFilterCandidatePair: (pair: { remoteCandidate: { host: string } }) => pair.remoteCandidate.host === "127.0.0.1",
} as const;

const BIN = fileURLToPath(new URL("../../packages/peer/bin/parley.js", import.meta.url));
const PUBLISHER = fileURLToPath(new URL("../helpers/whip-publish-process.mjs", import.meta.url));

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

  it("a WHIP publisher is a room member a bot receives; a WHEP viewer receives it and restarts ICE", async () => {
    const bot = await Peer.connect(signalUrl, { rtc: LOOPBACK });
    const room = await bot.join("stage");
    const frames = { audio: 0, video: 0 };
    room.on("track", (_m, track) => onFrames(track, () => frames[track.kind as "audio" | "video"]++));

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

    // An ICE restart by PATCH (RFC 9725 §4.3.2) on a live viewer: new ETag, media keeps coming.
    const etag = viewer.etag;
    expect(await restartIce(viewer)).not.toBe(etag);
    const at = seen.video;
    await expect.poll(() => seen.video, { timeout: 15_000 }).toBeGreaterThan(at + 30);
    expect(viewer.pc.connectionState).toBe("connected");

    await viewer.stop();
    await publisher.stop();
    await expect.poll(() => whip.sessions.size, { timeout: 5000 }).toBe(0);
    await expect.poll(() => room.members.size, { timeout: 10_000 }).toBe(0);
    await bot.close();
  });

  it("parley whip-server: a real process serves WHIP; SIGTERM ends its sessions (the room sees member-left) and exits 0", async () => {
    const bot = await Peer.connect(signalUrl);
    const room = await bot.join("cli-stage");
    let frames = 0;
    room.on("track", (_m, track) => {
      if (track.kind === "video") onFrames(track, () => frames++);
    });
    const cli = await startProgram({
      name: "parley whip-server",
      command: process.execPath,
      args: [BIN, "whip-server", "--signal", signalUrl, "--port", "0"],
      readyLine: /WHIP\/WHEP on http:\/\/127\.0\.0\.1:\d+/,
    });
    const port = /127\.0\.0\.1:(\d+)/.exec(cli.output())![1];
    const publisher = await whipPublish(`http://127.0.0.1:${port}/whip/cli-stage`, [inputs[0]!.track], undefined, {});
    await expect.poll(() => frames, { timeout: 20_000 }).toBeGreaterThan(30);
    expect(cli.output()).toMatch(/whip session \S+ in room "cli-stage" started/);
    const left = new Promise<void>((resolve) => room.once("member-left", () => resolve()));
    const exited = new Promise<number | null>((resolve) => cli.process.once("exit", (code) => resolve(code)));
    cli.process.kill("SIGTERM");
    await left;
    expect(await exited).toBe(0);
    expect(cli.output()).toMatch(/stopping: SIGTERM[\s\S]*whip session \S+ ended: the WHIP server is closing/);
    await publisher.pc.close();
    await bot.close();
  });

  it("a client that vanishes without DELETE (SIGKILL) loses its session when ICE fails; its member leaves", async () => {
    const bot = await Peer.connect(signalUrl, { rtc: LOOPBACK });
    const room = await bot.join("vanishing");
    const ended: string[] = [];
    whip.on("session-ended", (_s, reason) => ended.push(reason));
    const client = await startProgram({
      name: "WHIP publisher",
      command: process.execPath,
      args: [PUBLISHER, `${base}/whip/vanishing`],
      readyLine: /^connected/m,
    });
    await expect.poll(() => room.members.size).toBe(1);
    // The client prints "connected" when its side of DTLS is done; ours finishes a moment later (the last flight),
    // which under load can come after the kill. A session whose connection never came up ends by the connect
    // timeout instead, a different case: wait until both sides are up.
    const [session] = whip.sessions.values();
    await expect.poll(() => session?.connection.pc.connectionState, { timeout: 15_000 }).toBe("connected");
    const killedAt = Date.now();
    client.process.kill("SIGKILL");
    // werift's consent checks give up after about half a minute without answers.
    await expect.poll(() => whip.sessions.size, { timeout: 60_000, interval: 500 }).toBe(0);
    await expect.poll(() => room.members.size, { timeout: 10_000 }).toBe(0);
    expect(ended, `ended: ${JSON.stringify(ended)}`).toEqual(["the client connection failed"]);
    console.log(`session ended ${((Date.now() - killedAt) / 1000).toFixed(1)} s after its client was killed`);
    await bot.close();
  });
});
