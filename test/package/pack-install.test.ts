// What npm users install is what we test. `pnpm -r pack`, then `npm install` of the tarballs into an app in a temp
// directory outside the workspace (no workspace links), and then, with nothing but what that install brought:
// - the installed @parley/werift is byte for byte the patched werift every other suite runs on;
// - the published type declarations compile with skipLibCheck: false and none of our devDependencies;
// - the bot from the README's "Write a bot", run as written, answers a Chromium page (which joins with the installed
//   @parley/browser bundle) through the installed parley-signal, relaying through the installed parley-turn, and
//   records it to a file ffmpeg decodes without an error — and no public STUN host (or any other name) is looked up.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStartPage, servePage } from "../helpers/chromium.js";
import { decodeArgs } from "../helpers/ffmpeg.js";
import { startParleyTurn } from "../helpers/parley-turn.js";
import { freePort } from "../helpers/ports.js";
import { runProgram, startProgram } from "../helpers/programs.js";
import { hasTool } from "../helpers/require-tool.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dnsGuard = fileURLToPath(new URL("../helpers/dns-guard.mjs", import.meta.url));
const PACKAGES = ["@parley/browser", "@parley/peer", "@parley/signal", "@parley/turn", "@parley/werift"];

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import { joinRoom } from "/parley-browser.js";
window.start = async (url, room) => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
  window.inbox = [];
  const t0 = performance.now();
  let opened;
  const channel = new Promise((resolve) => { opened = resolve; });
  window.session = await joinRoom({
    url, room, stream, iceTransportPolicy: "relay",
    onChannel: (_id, dc) => {
      if (dc.label !== "chat") return;
      dc.onmessage = (e) => window.inbox.push(String(e.data));
      window.chat = dc;
      opened(performance.now() - t0);
    },
  });
  window.stream = stream;
  return await channel;
};
window.localCandidateType = async () => {
  const [member] = window.session.members.values();
  const report = await member.pc.getStats();
  for (const s of report.values())
    if (s.type === "transport" && s.selectedCandidatePairId)
      return report.get(report.get(s.selectedCandidatePairId).localCandidateId).candidateType;
  return null;
};
window.stop = () => { window.session.close(); for (const t of window.stream.getTracks()) t.stop(); };
</script>`;

/** The first ```js block under a heading of the root README: the code a user copies. */
function readmeCode(heading: string): string {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf(`## ${heading}`));
  const match = /```js\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error(`README.md has no js block under "## ${heading}"`);
  return match[1]!;
}

/** sha256 of every file under `dir`, by relative path: equal trees give equal maps. */
function treeDigest(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.set(relative(dir, path), createHash("sha256").update(readFileSync(path)).digest("hex"));
    }
  };
  walk(dir);
  return out;
}

describe.skipIf(!hasTool("chromium") || !hasTool("ffmpeg"))("the packages as npm installs them", () => {
  let app: string;
  const bin = (name: string) => join(app, "node_modules", ".bin", name);

  beforeAll(async () => {
    app = mkdtempSync(join(tmpdir(), "parley-app-"));
    const tarballs = join(app, "tarballs");
    execFileSync("npx", ["-y", "pnpm@10", "-r", "pack", "--pack-destination", tarballs], {
      cwd: root,
      stdio: "ignore",
    });
    const files = readdirSync(tarballs).filter((f) => f.endsWith(".tgz"));
    expect(files.map((f) => f.replace(/-\d.*$/, "")).sort()).toEqual(PACKAGES.map((p) => p.replace("/", "-").slice(1)));
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "parley-app", private: true, type: "module" }));
    // typescript and @types/node: what a TypeScript app has anyway. Nothing else of the workspace comes along.
    const install = await runProgram(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        ...files.map((f) => `./tarballs/${f}`),
        "typescript@~5.9",
        "@types/node@24",
      ],
      { cwd: app, timeoutMs: 240_000 },
    );
    expect(install.code, install.output).toBe(0);
  }, 300_000);
  afterAll(() => {
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it("installs real copies, and @parley/werift is exactly the patched werift the suites run on", () => {
    for (const name of PACKAGES) {
      expect(lstatSync(join(app, "node_modules", name)).isSymbolicLink(), `${name} is a link`).toBe(false);
      expect(existsSync(join(app, "node_modules", name, "LICENSE")), `${name} has a LICENSE`).toBe(true);
    }
    const installed = treeDigest(join(app, "node_modules/@parley/werift/lib"));
    const workspace = treeDigest(join(root, "packages/werift/lib"));
    expect(installed.size).toBeGreaterThan(100);
    expect(installed).toEqual(workspace);
    // …and that copy carries the thirty-one fixes (each marked in the code), not pristine werift.
    const marked = [...installed.keys()].filter((f) =>
      readFileSync(join(app, "node_modules/@parley/werift/lib", f), "utf8").includes("Parley patch"),
    );
    expect(marked.length).toBeGreaterThanOrEqual(21); // files carrying a marked fix (several fixes share a file)
    expect(existsSync(join(app, "node_modules/@parley/signal/PROTOCOL.md"))).toBe(true);
    expect(existsSync(join(app, "node_modules/@parley/signal/protocol.schema.json"))).toBe(true);
    expect(existsSync(join(app, "node_modules/@parley/browser/dist/browser/parley-browser.js"))).toBe(true);
    const stray = PACKAGES.filter((p) => existsSync(join(app, "node_modules", p, "dist/.tsbuildinfo")));
    expect(stray, "tarballs carry dist/.tsbuildinfo").toEqual([]);
  });

  it("publishes types that compile with skipLibCheck: false, without our devDependencies", async () => {
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          types: ["node"],
          lib: ["ES2023", "DOM"],
        },
        files: ["types-check.ts"],
      }),
    );
    writeFileSync(
      join(app, "types-check.ts"),
      [
        'import { joinRoom, type JoinRoomOptions } from "@parley/browser";',
        'import { AudioSource, AudioStream, Peer, Recorder, type PeerOptions, VideoSource, VideoStream } from "@parley/peer";',
        'import { createSignalServer, SignalClient } from "@parley/signal";',
        'import { SignalClient as BrowserClient } from "@parley/signal/client";',
        'import { createTurnServer } from "@parley/turn";',
        'import { RTCPeerConnection } from "@parley/werift";',
        "export const all = [joinRoom, Peer, Recorder, createSignalServer, SignalClient, BrowserClient, createTurnServer,",
        "  RTCPeerConnection, AudioSource, AudioStream, VideoSource, VideoStream];",
        "export type Options = [JoinRoomOptions, PeerOptions];",
      ].join("\n"),
    );
    const tsc = await runProgram(process.execPath, [bin("tsc"), "-p", app], { cwd: app, timeoutMs: 120_000 });
    expect(tsc.output).toBe("");
    expect(tsc.code).toBe(0);
  });

  it("decodes and encodes media with the installed codecs (libopus addon, libvpx WebAssembly in its worker thread)", async () => {
    // Each source's own track hands what it sends to its subscribers: encode → RTP → decode without a network.
    writeFileSync(
      join(app, "codecs.mjs"),
      `import { AudioSource, AudioStream, VideoSource, VideoStream } from "@parley/peer";
import { MediaStreamTrack } from "@parley/werift";
const voice = new AudioSource();
const heard = new AudioStream(voice.track);
const tone = new Int16Array(48000).map((_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 1000 * i) / 48000)));
await voice.write(tone);
await new Promise((r) => setTimeout(r, 1300));
voice.close();
heard.close();
let frames = 0;
let loud = 0;
for await (const f of heard) {
  frames++;
  if (f.data.some((v) => Math.abs(v) > 4000)) loud++;
}
const canvas = new VideoSource();
const track = new MediaStreamTrack({ kind: "video", codec: { mimeType: "video/VP8" } });
canvas.track.onReceiveRtp.subscribe((rtp) => track.onReceiveRtp.execute(rtp));
const seen = new VideoStream(track);
const pixels = new Uint8Array(64 * 48 * 4).map((_, i) => (i % 4 === 1 ? 200 : 40));
for (let i = 0; i < 5; i++) await canvas.write({ format: "rgba", width: 64, height: 48, data: pixels });
const first = await seen[Symbol.asyncIterator]().next();
canvas.close();
seen.close();
console.log(JSON.stringify({ frames, loud, video: [first.value.width, first.value.height, first.value.data[1]] }));
`,
    );
    const run = await runProgram(process.execPath, ["codecs.mjs"], { cwd: app, timeoutMs: 30_000 });
    expect(run.code, run.output).toBe(0);
    const result = JSON.parse(run.output.trim().split("\n").at(-1)!) as {
      frames: number;
      loud: number;
      video: number[];
    };
    expect(result.frames).toBeGreaterThanOrEqual(60);
    expect(result.loud).toBeGreaterThanOrEqual(45);
    expect(result.video[0]).toBe(64);
    expect(result.video[1]).toBe(48);
    expect(Math.abs(result.video[2]! - 200)).toBeLessThanOrEqual(8);
  });

  it("answers a Chromium page through TURN with the README bot, records it, and looks up no host name", async () => {
    const secret = "pack-install-secret";
    const turn = await startParleyTurn(
      ["-L", "127.0.0.1", "--use-auth-secret", `--static-auth-secret=${secret}`, "--allow-loopback-peers", "-n"],
      { cli: bin("parley-turn") },
    );
    const signalPort = await freePort();
    const signal = await startProgram({
      name: "parley-signal",
      command: bin("parley-signal"),
      args: [
        ...["--host", "127.0.0.1", "--port", String(signalPort), "--path", "/signal"],
        ...["--turn-secret", secret, "--turn-url", `turn:127.0.0.1:${turn.port}?transport=udp`],
      ],
      readyLine: /ready on ws:/,
    });
    const signalUrl = `ws://127.0.0.1:${signalPort}/signal`;

    writeFileSync(join(app, "bot.mjs"), readmeCode("Write a bot"));
    const dnsLog = join(app, "dns.log");
    const bot = await startProgram({
      name: "README bot",
      command: process.execPath,
      args: ["--import", dnsGuard, "bot.mjs"],
      cwd: app,
      env: { PARLEY_URL: signalUrl, PARLEY_DNS_LOG: dnsLog },
    });
    // The bot is in its room when the server counts its session.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const health = await fetch(`http://127.0.0.1:${signalPort}/healthz`).then(
        (r) => r.json() as Promise<{ sessions: number }>,
      );
      if (health.sessions >= 1) break;
      if (Date.now() > deadline) throw new Error(`the README bot never connected:\n${bot.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 300)); // connected is not yet joined; joined follows within a round trip

    const assets = {
      "/parley-browser.js": readFileSync(join(app, "node_modules/@parley/browser/dist/browser/parley-browser.js")),
    };
    const page: Page = await openStartPage((await servePage(PAGE, assets)).url);
    type W = { start(u: string, r: string): Promise<number>; chat: RTCDataChannel; inbox: string[] };
    const joinToChannelMs = await page.evaluate(([u]) => (window as unknown as W).start(u as string, "demo"), [
      signalUrl,
    ] as const);
    console.log(`installed packages: page join → bot's chat channel open in ${Math.round(joinToChannelMs)} ms`);
    await page.evaluate(() => (window as unknown as W).chat.send("hello"));
    await page.waitForFunction(() => (window as unknown as W).inbox.includes("you said: hello"), undefined, {
      timeout: 10_000,
    });
    expect(
      await page.evaluate(() => (window as unknown as { localCandidateType(): Promise<string> }).localCandidateType()),
    ).toBe("relay");
    await new Promise((r) => setTimeout(r, 3000)); // three seconds of camera and mic to record
    await page.evaluate(() => (window as unknown as { stop(): void }).stop());

    // Ctrl-C, as a user stops it: the README's handler finalizes the recording, and the process exits by itself.
    bot.process.kill("SIGINT");
    const exited = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      bot.process.once("exit", () => {
        clearTimeout(timer);
        resolve(true);
      });
      if (bot.process.exitCode !== null) resolve(true);
    });
    expect(exited, `bot still running 10 s after SIGINT:\n${bot.output()}`).toBe(true);
    await signal.stop();
    await turn.program.stop();

    const recordings = join(app, "recordings");
    const files = readdirSync(recordings).filter((f) => f.endsWith(".webm"));
    expect(files, bot.output()).toHaveLength(1);
    const file = join(recordings, files[0]!);
    const streams = JSON.parse(
      execFileSync("ffprobe", ["-v", "error", "-show_streams", "-of", "json", file], { encoding: "utf8" }),
    ).streams.map((s: { codec_type: string }) => s.codec_type);
    expect(streams.sort()).toEqual(["audio", "video"]);
    const decode = await runProgram("ffmpeg", decodeArgs(file), { timeoutMs: 60_000 });
    expect(decode.output.trim()).toBe("");
    expect(decode.code).toBe(0);

    const looked = existsSync(dnsLog) ? readFileSync(dnsLog, "utf8").trim().split("\n") : [];
    expect(looked, "host names the bot tried to resolve").toEqual([]);
  });

  it("the DNS guard catches the public STUN lookup of werift as the registry ships it (so the check above can fail)", async () => {
    const script = join(app, "gather.mjs");
    writeFileSync(
      script,
      [
        "const { RTCPeerConnection } = await import(process.argv[2]);",
        "const pc = new RTCPeerConnection({ iceServers: [] });",
        'pc.createDataChannel("x");',
        "await pc.setLocalDescription(await pc.createOffer());",
        "await new Promise((resolve) => {",
        '  if (pc.iceGatheringState === "complete") return resolve();',
        '  pc.iceGatheringStateChange.subscribe((s) => s === "complete" && resolve());',
        "});",
        "await pc.close();",
      ].join("\n"),
    );
    const gather = async (module: string) => {
      const log = join(app, `dns-${createHash("sha1").update(module).digest("hex")}.log`);
      const run = await runProgram(process.execPath, ["--import", dnsGuard, script, module], {
        env: { PARLEY_DNS_LOG: log },
        timeoutMs: 30_000,
      });
      expect(run.code, run.output).toBe(0);
      return existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
    };
    const pristine = join(root, "packages/werift/node_modules/werift/lib/index.mjs");
    expect(await gather(pristine)).toContain("stun.l.google.com");
    expect(await gather(join(app, "node_modules/@parley/werift/lib/index.mjs"))).toEqual([]);
  });
});
