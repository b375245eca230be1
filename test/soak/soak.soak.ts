// The soak (`pnpm soak`; not part of `pnpm test`): SOAK_MINUTES (default 30) of a room with 8 bots, each in its own
// process (test/soak/soak-bot.mjs; one records everyone), and 2 Chromium pages sending fake camera and microphone and
// chatting over a data channel. Every bot restarts ICE on all its connections every 2 minutes and replaces one of its
// connections with a new one (a renewal, as after a failed DTLS handshake) every 5 minutes, a different member each
// time; every signalling link is cut every minute (a TCP proxy in front of the server). At the end: per process RSS,
// heap (compiled code apart from the rest), open file descriptors and active handles at the start (after a warm-up)
// and at the end, growth per hour (with what V8 has committed for its heap, so native memory can be told apart), error
// events, and whether every recording decodes without an error (ffmpeg). SOAK_MINUTES, SOAK_WARMUP_MS, SOAK_CUT_MS,
// SOAK_ICE_RESTART_MS and SOAK_RENEW_MS change the defaults (a quick check of the harness: SOAK_MINUTES=2
// SOAK_WARMUP_MS=30000). It fails on an error event, a recording that does not decode, a member that lost its peers,
// or pages that stopped receiving chat. For diagnosis it prints, with a bot's first stall report for a member, what
// that connection says about itself on both ends (`soak diag`), and at the end each bot's SCTP history with each page
// beside the page's view of the channel (`soak trace`; test/soak/connection-diag.mjs).
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createSignalServer } from "@parley/signal";
import type { Page } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { startTcpProxy } from "../../packages/signal/test/helpers/tcp-proxy.js";
import { launchChromium, openStartPage, roomPageAssets, servePage } from "../helpers/chromium.js";
import { decodeArgs } from "../helpers/ffmpeg.js";
import { type RunningProgram, startProgram } from "../helpers/programs.js";

const MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
/** Start figures are taken after this: the first minutes are JIT, pools and buffers filling, not growth. */
const WARMUP_MS = Number(process.env.SOAK_WARMUP_MS ?? 120_000);
const CUT_EVERY_MS = Number(process.env.SOAK_CUT_MS ?? 60_000);
const ICE_RESTART_MS = process.env.SOAK_ICE_RESTART_MS ?? "120000";
const RENEW_MS = process.env.SOAK_RENEW_MS ?? "300000";
const BOTS = 8;
const bot = fileURLToPath(new URL("./soak-bot.mjs", import.meta.url));

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import { joinRoom } from "/parley-browser.js";
window.got = 0;
const channels = new Set();
// For diagnosis: every channel a member announced (ondatachannel) and which were handed over, per member.
const announced = [];
const watchChannels = (m) =>
  m.pc.addEventListener("datachannel", ({ channel }) => announced.push({ member: m.id, channel, at: Date.now() }));
window.start = async (url, name) => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
  // The bots open a room-wide "chat" channel to the page: count what comes in, and answer on it every second.
  window.session = await joinRoom({
    url, room: "soak", stream, metadata: { name },
    onMember: (m) => watchChannels(m),
    onRenewed: (m) => watchChannels(m),
    onChannel: (id, channel) => {
      const entry = announced.find((a) => a.channel === channel);
      if (entry) entry.handedOver = Date.now();
      channels.add(channel);
      channel.onmessage = () => window.got++;
      channel.onclose = () => channels.delete(channel);
    },
  });
  setInterval(() => { for (const c of channels) if (c.readyState === "open") c.send(name); }, 1000);
  return window.session.client.sessionId;
};
window.diag = async (id) => {
  const m = window.session.members.get(id);
  if (!m) return { member: "unknown" };
  const report = await m.pc.getStats();
  const stats = [...report.values()]
    .filter((s) => s.type === "data-channel" || s.type === "transport")
    .map((s) => s.type === "transport"
      ? \`transport \${s.dtlsState} \${s.dtlsRole} ice-\${s.iceRole} \${s.iceState} selected \${s.selectedCandidatePairId ?? "-"}\`
      : \`dc \${s.dataChannelIdentifier}:\${s.label}:\${s.state} sent \${s.messagesSent} got \${s.messagesReceived}\`);
  return {
    connection: m.pc.connectionState,
    ice: m.pc.iceConnectionState,
    signalling: m.pc.signalingState,
    sctp: m.pc.sctp?.state,
    announced: announced.filter((a) => a.member === id).map((a) =>
      \`\${a.channel.id}:\${a.channel.label}:\${a.channel.readyState} handed over \${a.handedOver ? a.handedOver - a.at + " ms" : "no"} in set \${channels.has(a.channel)}\`),
    stats,
  };
};
window.stats = () => ({
  heap: performance.memory?.usedJSHeapSize ?? 0,
  members: window.session.members.size,
  got: window.got,
});
</script>`;

interface Sample {
  name: string;
  at: number;
  rss: number;
  heap: number;
  /** Compiled code and bytecode, part of `heap`. */
  code: number;
  /** What V8 has committed for its heap: RSS growth beyond this (and `external`) is native memory. */
  heapTotal: number;
  external: number;
  fds: number;
  handles: number;
  members: number;
  errors: number;
  [key: string]: number | string;
}

/** The bot's peer id, from the line it prints once it has joined. */
const peerIdOf = (bot: RunningProgram) => bot.output().match(/in room "soak" as (\S+)/)?.[1];

/** What a page's connection to a bot says about itself: states, the channels the bot announced, getStats(). */
interface PageView {
  announced?: string[];
  [key: string]: unknown;
}
const pageView = (page: Page, botId: string) =>
  page.evaluate((id) => (window as unknown as { diag(id: string): Promise<PageView> }).diag(id), botId);

/**
 * A bot's first stall report for a member comes with a `diag` line (its transports, SCTP association and channels);
 * each is printed once, and when the silent member is a page, with the page's own view of that bot beside it.
 */
async function printDiagnoses(bots: RunningProgram[], pages: Page[], sessionIds: string[], done: Set<string>) {
  for (const b of bots) {
    const selfId = peerIdOf(b);
    for (const line of b.output().split("\n")) {
      const m = line.match(/^(bot-\d+): diag (\S+) /);
      if (!m || done.has(line)) continue;
      done.add(line);
      console.log(`soak diag: ${line}`);
      const page = pages[sessionIds.indexOf(m[2]!)];
      if (page && selfId) {
        const view = await pageView(page, selfId);
        console.log(`soak diag: page ${m[2]} about ${m[1]} (${selfId}): ${JSON.stringify(view)}`);
      }
    }
  }
}

/** Each bot's SCTP history with each page, beside the page's view of that bot's channel. */
async function printTraces(bots: RunningProgram[], pages: Page[], sessionIds: string[]) {
  for (const b of bots) {
    const selfId = peerIdOf(b);
    for (const line of b.output().split("\n")) {
      const m = line.match(/^(bot-\d+): trace (\S+) (.*)$/);
      const page = m && pages[sessionIds.indexOf(m[2]!)];
      if (!m || !page || !selfId) continue;
      const view = await pageView(page, selfId);
      console.log(
        `soak trace: ${m[1]} with page ${m[2]!.slice(0, 8)}: page has ${view.announced?.join(", ")}; bot: ${m[3]}`,
      );
    }
  }
}

function latest(program: RunningProgram): Sample | undefined {
  const lines = program
    .output()
    .split("\n")
    .filter((l) => l.startsWith('{"stats"'));
  const last = lines.at(-1);
  return last ? (JSON.parse(last) as { stats: Sample }).stats : undefined;
}

/** Growth per hour from `a` to `b` in MiB; `heap-code` is the heap outside compiled code. */
function rate(a: Sample, b: Sample, hours: number, k: "rss" | "heapTotal" | "code" | "external" | "heap-code"): string {
  const value = (s: Sample) => (k === "heap-code" ? s.heap - s.code : s[k]);
  return ((value(b) - value(a)) / 2 ** 20 / hours).toFixed(1);
}

/** RSS, heap outside code and code growth per hour from `mid` to `end`, in MiB. */
function secondHalf(mid: Sample | undefined, end: Sample, hours: number): string {
  if (!mid) return "-";
  return `${rate(mid, end, hours, "rss")}/h, ${rate(mid, end, hours, "heap-code")}/h, ${rate(mid, end, hours, "code")}/h`;
}

const server = createSignalServer({ messagesPerSecond: 200 });
afterAll(() => server.close());

describe("soak", () => {
  it(`${MINUTES} minutes: 8 bots and 2 Chromium pages, ICE restarts every 2 min, renewals every 5, a signalling cut every minute`, async () => {
    const port = await server.listen(0);
    const proxy = await startTcpProxy(port);
    const url = `ws://127.0.0.1:${proxy.port}`;
    const recordings = mkdtempSync(join(tmpdir(), "parley-soak-"));
    const bots: RunningProgram[] = [];
    for (let i = 0; i < BOTS; i++) {
      bots.push(
        await startProgram({
          name: `soak bot ${i}`,
          command: process.execPath,
          args: ["--expose-gc", bot, url, `bot-${i}`, ...(i === 0 ? [recordings] : [])],
          readyLine: /soak bot .* in room "soak"/,
          env: { SOAK_STATS_MS: "10000", SOAK_ICE_RESTART_MS: ICE_RESTART_MS, SOAK_RENEW_MS: RENEW_MS },
        }),
      );
    }
    const { url: pageUrl } = await servePage(PAGE, roomPageAssets());
    const browser = await launchChromium();
    const pages: Page[] = [];
    const sessionIds: string[] = [];
    const diagnosed = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const page = await openStartPage(pageUrl, browser);
      page.on("console", (m) => {
        if (m.type() === "error") console.log(`page-${i} console: ${m.text()}`);
      });
      sessionIds[i] = await page.evaluate(
        ([u, n]) => (window as unknown as { start(u: string, n: string): Promise<string> }).start(u!, n!),
        [url, `page-${i}`],
      );
      pages.push(page);
    }
    const pageStats = () =>
      Promise.all(pages.map((p) => p.evaluate(() => (window as unknown as { stats(): Sample }).stats())));
    const cuts = setInterval(() => proxy.cut(), CUT_EVERY_MS);
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const startBots = bots.map(latest);
    const startPages = await pageStats();
    const started = Date.now();
    const endAt = started + MINUTES * 60_000 - WARMUP_MS;
    // Error lines already printed, per bot (one count for all would repeat old lines of later bots whenever an
    // earlier bot adds some).
    const reported = bots.map(() => 0);
    // Growth is also measured over the second half alone: V8 grows its young generation and code space in steps for
    // the first quarter hour or so (bounded), which a start-to-end rate would count as growth.
    let midBots: Array<Sample | undefined> | undefined;
    const midAt = started + (endAt - started) / 2;
    while (Date.now() < endAt) {
      if (!midBots && Date.now() >= midAt) midBots = bots.map(latest);
      await new Promise((r) => setTimeout(r, Math.min(60_000, endAt - Date.now())));
      const now = bots.map(latest);
      bots.forEach((b, i) => {
        const errors = b
          .output()
          .split("\n")
          .filter((l) => /^bot-\d+: \w+ error:|^bot-\d+: (send|chat stall):|^bot-\d+: dtls failed/.test(l));
        for (const line of errors.slice(reported[i])) console.log(`soak error event: ${line}`);
        reported[i] = errors.length;
      });
      await printDiagnoses(bots, pages, sessionIds, diagnosed);
      const minutes = ((Date.now() - started) / 60_000 + WARMUP_MS / 60_000).toFixed(1);
      console.log(
        `soak ${minutes} min: ${now.map((s) => `${s?.name} rss ${((s?.rss ?? 0) / 2 ** 20).toFixed(0)} MiB fds ${s?.fds} handles ${s?.handles} members ${s?.members} loop lag p99/max ${s?.lagP99Ms}/${s?.lagMaxMs} ms errors ${s?.errors}`).join("; ")}`,
      );
    }
    clearInterval(cuts);
    await printTraces(bots, pages, sessionIds);
    const endBots = bots.map(latest);
    const endPages = await pageStats();
    const hours = (Date.now() - started) / 3_600_000;
    // SIGTERM: the recording bot finalizes its files, each bot leaves (stop() would SIGKILL after 3 s; give 20 s).
    await Promise.all(
      bots.map(
        (program) =>
          new Promise<void>((resolve) => {
            if (program.process.exitCode !== null) return resolve();
            const timer = setTimeout(() => program.process.kill("SIGKILL"), 20_000);
            program.process.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
            program.process.kill("SIGTERM");
          }),
      ),
    );
    const rows: string[] = [
      "process | rss MiB start→end (per hour) | V8 heap committed MiB | heap outside code MiB | code MiB | external MiB | fds | handles | errors | second half per hour: rss, heap outside code, code",
    ];
    const halfHours = hours / 2;
    const mib = (n: number) => (n / 2 ** 20).toFixed(1);
    endBots.forEach((end, i) => {
      const start = startBots[i]!;
      const span = (k: "rss" | "heapTotal" | "code" | "external") =>
        `${mib(start[k])}→${mib(end![k])} (${rate(start, end!, hours, k)}/h)`;
      const heap = `${mib(start.heap - start.code)}→${mib(end!.heap - end!.code)} (${rate(start, end!, hours, "heap-code")}/h)`;
      rows.push(
        `${end!.name} | ${span("rss")} | ${span("heapTotal")} | ${heap} | ${span("code")} | ${span("external")} | ${start.fds}→${end!.fds} | ${start.handles}→${end!.handles} | ${end!.errors} | ${secondHalf(midBots?.[i], end!, halfHours)}`,
      );
    });
    endPages.forEach((end, i) => {
      rows.push(
        `page-${i} | JS heap ${mib(startPages[i]!.heap)}→${mib(end.heap)} MiB | members ${end.members} | chat received ${end.got}`,
      );
    });
    const files =
      bots[0]!
        .output()
        .match(/finalized (\S+)/g)
        ?.map((l) => l.slice("finalized ".length)) ?? [];
    // Each error with the connection states of its bot around it (the two minutes before).
    for (const b of bots) {
      const lines = b.output().split("\n");
      lines.forEach((line, i) => {
        if (/^bot-\d+: (room error|peer error)/.test(line)) {
          console.log(
            `${line}\n  before it:\n  ${lines
              .slice(Math.max(0, i - 12), i)
              .filter((l) => / (connected|connecting|disconnected|failed|new|closed)$/.test(l))
              .join("\n  ")}`,
          );
        }
      });
    }
    const errorLines = bots.flatMap((b) =>
      b
        .output()
        .split("\n")
        .filter((l) => /^bot-\d+: (room error|peer error|recorder error|send):/.test(l)),
    );
    if (errorLines.length) console.log(`error events:\n${errorLines.slice(0, 40).join("\n")}`);
    if (files.length === 0) console.log(`the recording bot printed:\n${bots[0]!.output().slice(-3000)}`);
    const decoded = files.map((file) => {
      try {
        execFileSync("ffmpeg", ["-xerror", ...decodeArgs(file)], { stdio: "pipe" });
        return `${file}: ok`;
      } catch (err) {
        return `${file}: ${(err as { stderr?: Buffer }).stderr?.toString().trim().slice(0, 300)}`;
      }
    });
    console.log(
      `soak report (${(hours * 60).toFixed(1)} min measured after a ${WARMUP_MS / 1000} s warm-up):\n${rows.join("\n")}\nrecordings:\n${decoded.join("\n")}`,
    );
    await browser.close();
    await proxy.close();
    expect(endBots.map((s) => s?.errors)).toEqual(endBots.map(() => 0));
    expect(endBots.every((s) => s!.members === BOTS + 1)).toBe(true);
    expect(files.length).toBeGreaterThan(0);
    expect(decoded.every((d) => d.endsWith(": ok"))).toBe(true);
    for (let i = 0; i < 2; i++) expect(endPages[i]!.got).toBeGreaterThan(startPages[i]!.got);
  });
});
