// WHIP and WHEP against clients nobody here wrote, in Chromium: @eyevinn/whip-web-client publishes the fake camera and
// mic into a room (trickle ICE by PATCH), a Parley bot records it (ffprobe checks the file) and a Chromium page in the
// room sees it through @parley/browser; medooze's whip-whep WHEPClient plays it (non-zero size, advancing time).
// Tokens are real signalling JWTs. (whip-whep's ICE restart joins the answer's candidates with "," — an invalid SDP
// whenever a server has two host candidates, as here — so restarts are tested with the RFC client in whip-node.)
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createWhipServer, Peer, Recorder, type RecordingFile, type WhipServer } from "@parley/peer";
import { createSignalServer, type SignalServer, signToken } from "@parley/signal";
import { build } from "esbuild";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, roomPageAssets } from "../helpers/chromium.js";
import { hasTool } from "../helpers/require-tool.js";

const SECRET = "whip-chromium-secret-0123456789abcdef";
/** Wall time the recording of the publisher runs, from its file's start to the unpublish. */
const RECORD_MS = 4000;

// The independent clients, bundled for the page as their READMEs use them.
const CLIENTS = `
import { WHIPClient } from "@eyevinn/whip-web-client";
import { WHEPClient } from "whip-whep/whep.js";
import { WHIPClient as MedoozeWHIPClient } from "whip-whep/whip.js";
import { joinRoom } from "/parley-browser.js";
window.publish = async (endpoint, token) => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
  window.whip = new WHIPClient({ endpoint, opts: { debug: false, iceServers: [], authkey: token } });
  await window.whip.ingest(stream);
  return window.whip.getResourceUrl();
};
window.unpublish = () => window.whip.destroy();
// medooze's WHIP client throws on a refusal (eyevinn's only logs it), so refusals are seen through it.
window.publishRefused = async (endpoint, token) => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: "sendonly" });
  try { await new MedoozeWHIPClient().publish(pc, endpoint, token); return "published"; }
  catch (err) { return String(err); } finally { pc.close(); }
};
window.watch = async (endpoint, token) => {
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  pc.addTransceiver("video", { direction: "recvonly" });
  const video = document.createElement("video");
  video.muted = true;
  video.autoplay = true;
  document.body.append(video);
  pc.ontrack = (event) => { video.srcObject = event.streams[0] ?? new MediaStream([event.track]); };
  window.whep = new WHEPClient();
  window.viewer = { pc, video };
  await window.whep.view(pc, endpoint, token);
};
window.viewed = () => ({ width: window.viewer.video.videoWidth, time: window.viewer.video.currentTime,
  state: window.viewer.pc.connectionState });
window.joinAsMember = async (url, room, token) => {
  const video = document.createElement("video");
  video.muted = true;
  video.autoplay = true;
  document.body.append(video);
  window.member = { video, session: await joinRoom({ url, room, token,
    onTrack: (_id, event) => { if (event.track.kind === "video") video.srcObject = new MediaStream([event.track]); } }) };
};
window.memberSees = () => ({ width: window.member.video.videoWidth, time: window.member.video.currentTime });
`;

describe.skipIf(!hasTool("chromium") || !hasTool("ffmpeg"))("WHIP and WHEP with independent browser clients", () => {
  let signal: SignalServer;
  let signalUrl: string;
  let whip: WhipServer;
  let http: Server;
  let base: string;
  const token = (rooms: string[]) => signToken(SECRET, { sub: `user-${rooms.join("-")}`, rooms }, 600);

  beforeAll(async () => {
    signal = createSignalServer({ tokenSecret: SECRET });
    signalUrl = `ws://127.0.0.1:${await signal.listen(0)}`;
    whip = createWhipServer({
      signalUrl,
      peer: { rtc: { iceAdditionalHostAddresses: ["127.0.0.1"] } },
      rtc: { iceAdditionalHostAddresses: ["127.0.0.1"] },
    });
    const bundle = await build({
      stdin: { contents: CLIENTS, resolveDir: import.meta.dirname, loader: "js" },
      bundle: true,
      format: "esm",
      write: false,
      external: ["/parley-browser.js"],
    });
    const files: Record<string, string | Buffer> = {
      "/clients.js": bundle.outputFiles[0]!.text,
      "/": `<!doctype html><meta charset="utf-8"><script type="module" src="/clients.js"></script>`,
      ...roomPageAssets(),
    };
    // The page and the endpoints on one origin; CORS is covered by the conformance test.
    http = createServer((req, res) => {
      if (whip.handle(req, res)) return;
      const body = files[new URL(req.url ?? "/", "http://x").pathname];
      if (body === undefined) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": req.url === "/" ? "text/html" : "text/javascript" }).end(body);
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await whip?.close();
    http?.close();
    await signal?.close();
  });

  async function page(): Promise<Page> {
    const p = await (await (await launchChromium()).newContext()).newPage();
    p.on("pageerror", (err) => console.error("page error:", err));
    await p.goto(`${base}/`);
    await p.waitForFunction(() => "watch" in window);
    return p;
  }

  it("eyevinn's WHIP client publishes into a room: a bot records it, a room page and a WHEP player see it", async () => {
    const room = "whip-stage";
    const bot = await Peer.connect(signalUrl, {
      token: token([room]),
      rtc: { iceAdditionalHostAddresses: ["127.0.0.1"] },
    });
    const joined = await bot.join(room);
    const dir = mkdtempSync(join(tmpdir(), "parley-whip-rec-"));
    const recorder = await Recorder.start(joined, { dir });
    const files: RecordingFile[] = [];
    recorder.on("finalized", (f) => files.push(f));
    const startedAt = new Map<string, number>();
    recorder.on("started", (f) => startedAt.set(f.memberId, Date.now()));

    const publisher = await page();
    const resource = await publisher.evaluate(
      ([e, t]) => window.publish(e, t),
      [`${base}/whip/${room}`, token([room])],
    );
    expect(resource).toMatch(new RegExp(`^${base}/sessions/[\\w-]+$`));
    await expect.poll(() => joined.members.size, { timeout: 15_000 }).toBe(1);
    const publisherId = [...joined.members.keys()][0]!;

    const member = await page();
    await member.evaluate(([u, r, t]) => window.joinAsMember(u, r, t), [signalUrl, room, token([room])]);
    await expect.poll(() => member.evaluate(() => window.memberSees().width), { timeout: 20_000 }).toBe(320);

    const viewer = await page();
    await viewer.evaluate(([e, t]) => window.watch(e, t), [`${base}/whep/${room}/${publisherId}`, token([room])]);
    await expect.poll(() => viewer.evaluate(() => window.viewed().width), { timeout: 20_000 }).toBe(320);
    const before = await viewer.evaluate(() => window.viewed());
    await expect
      .poll(() => viewer.evaluate(() => window.viewed().time), { timeout: 10_000 })
      .toBeGreaterThan(before.time + 1);

    expect((await viewer.evaluate(() => window.viewed())).state).toBe("connected");

    // A few seconds of recording: the file starts at the first keyframe the bot gets, which can come after the pages
    // already show the picture (with quick joins the test reached this point 2.6 s into the file).
    await expect.poll(() => startedAt.has(publisherId), { timeout: 10_000 }).toBe(true);
    await new Promise((r) => setTimeout(r, Math.max(2000, RECORD_MS - (Date.now() - startedAt.get(publisherId)!))));
    await publisher.evaluate(() => window.unpublish());
    await expect.poll(() => joined.members.size, { timeout: 10_000 }).toBe(1); // the publisher left; the member stays
    await expect.poll(() => files.length, { timeout: 15_000 }).toBeGreaterThan(0);
    const recorded = files.find((f) => f.memberId === publisherId)!;
    const probe = JSON.parse(
      execFileSync("ffprobe", ["-v", "error", "-show_streams", "-show_format", "-of", "json", recorded.path], {
        encoding: "utf8",
      }),
    ) as { streams: Array<{ codec_name: string; width?: number; height?: number }>; format: { duration: string } };
    expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(["opus", "vp8"]);
    expect(probe.streams.find((s) => s.codec_name === "vp8")).toMatchObject({ width: 320, height: 240 });
    expect(Number(probe.format.duration)).toBeGreaterThan(RECORD_MS / 1000 - 1);
    await expect.poll(() => whip.sessions.size, { timeout: 15_000 }).toBe(0); // the viewer followed its member out
    await recorder.stop();
    await bot.close();
  });

  it("refuses a token without the room's grant (403) and a missing token (401), leaving no session", async () => {
    const p = await page();
    const endpoint = `${base}/whip/private-room`;
    expect(await p.evaluate(([e, t]) => window.publishRefused(e, t), [endpoint, token(["another-room"])])).toMatch(
      /status 403/,
    );
    expect(await p.evaluate(([e]) => window.publishRefused(e, ""), [endpoint])).toMatch(/status 401/);
    const status = await fetch(`${base}/whep/private-room`, {
      method: "POST",
      headers: { "content-type": "application/sdp" },
      body: "v=0\r\n",
    }).then((r) => r.status);
    expect(status).toBe(400); // the offer is checked first, before anyone is asked about the token
    expect(whip.sessions.size).toBe(0);
  });
});

declare global {
  interface Window {
    publish(endpoint: string, token: string): Promise<string>;
    publishRefused(endpoint: string, token: string): Promise<string>;
    unpublish(): Promise<void>;
    watch(endpoint: string, token: string): Promise<void>;
    viewed(): { width: number; time: number; state: string };
    joinAsMember(url: string, room: string, token: string): Promise<void>;
    memberSees(): { width: number; time: number };
  }
}
