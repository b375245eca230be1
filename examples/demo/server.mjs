// The demo's pieces, in one process: an HTTP server with the page, the recordings, signalling at /signal and WHIP/WHEP
// at /whip/{room} and /whep/{room}; a STUN/TURN server whose credentials the signalling server hands out; and a bot in
// room "demo" that echoes and records every member (WHIP publishers too). start.mjs runs it; the end-to-end test
// imports it.
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, stat } from "node:fs/promises";
import { createServer } from "node:http";
import { createServer as createTlsServer } from "node:https";
import { createRequire } from "node:module";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createWhipServer, echoRoom, Peer, Recorder } from "@parley/peer";
import { createSignalServer } from "@parley/signal";
import { createTurnServer } from "@parley/turn";
import { WebSocket } from "ws";

const here = fileURLToPath(new URL(".", import.meta.url));
// The page's room client, resolved the way an app that installed @parley/browser from npm would.
const bundle = createRequire(import.meta.url).resolve("@parley/browser/bundle");

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".webm": "video/webm",
  ".ogg": "audio/ogg",
};

/**
 * @param {{ port?: number, host?: string, turnPort?: number, recordings?: string, room?: string,
 *   tls?: { cert: string | Buffer, key: string | Buffer }, log?: (line: string) => void }} options
 *   `tls`: serve the page over https and signalling over wss (browsers on other machines need a secure page).
 */
export async function startDemo(options = {}) {
  const host = options.host ?? "127.0.0.1";
  const roomName = options.room ?? "demo";
  const recordings = options.recordings ?? join(process.cwd(), "recordings");
  const log = options.log ?? ((line) => console.log(line));
  await mkdir(recordings, { recursive: true });
  /** Files the recorder is still writing: not listed for download until finalized. */
  const recordingNow = new Set();

  // TURN with a random REST secret: the signalling server gives each session credentials valid for an hour.
  const secret = (await import("node:crypto")).randomBytes(16).toString("hex");
  const turn = await createTurnServer({
    listeningIps: [host],
    listeningPort: options.turnPort ?? 3478,
    authSecrets: [secret],
    // The demo runs on one machine or a local network: relaying between local and private addresses is what it is
    // for. A TURN server facing the internet keeps both refused (the default).
    peerPolicy: { allowLoopback: true, allowPrivate: true },
  }).listen();
  const turnPort = turn.addresses[0].port;
  const signal = createSignalServer({
    turn: { secret, urls: [`stun:${host}:${turnPort}`, `turn:${host}:${turnPort}?transport=udp`] },
  });

  const onRequest = (req, res) => {
    serve(req, res).catch((err) => {
      res.writeHead(500, { "content-type": "text/plain" }).end(`${err.message}\n`);
    });
  };
  const http = options.tls ? createTlsServer(options.tls, onRequest) : createServer(onRequest);
  /** Set once the server listens (WHIP sessions join rooms through it, as the bot does). */
  let whip;
  async function serve(req, res) {
    if (whip?.handle(req, res)) return;
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    if (path === "/" || path === "/index.html") return send(res, join(here, "public/index.html"));
    if (path === "/parley-browser.js") return send(res, bundle);
    if (path === "/recordings") {
      // Only finished files: one still being written (or being finalized) would download cut short.
      const files = (await readdir(recordings)).filter((f) => /\.(webm|ogg)$/.test(f) && !recordingNow.has(f)).sort();
      const list = await Promise.all(
        files.map(async (name) => ({
          name,
          bytes: (await stat(join(recordings, name))).size,
          url: `/recordings/${name}`,
        })),
      );
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(list));
      return;
    }
    if (path.startsWith("/recordings/")) {
      // basename(): only files directly in the recordings directory, never a path out of it.
      const name = basename(path);
      if (!/^[\w.-]+\.(webm|ogg)$/.test(name)) return notFound(res);
      return send(res, join(recordings, name), { "content-disposition": `attachment; filename="${name}"` });
    }
    notFound(res);
  }
  signal.attach(http, "/signal");
  http.on("upgrade", (req, socket) => {
    if (new URL(req.url ?? "/", "http://x").pathname !== "/signal") socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
  });
  await new Promise((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port ?? 8080, host, resolve);
  });
  const port = http.address().port;
  const url = `${options.tls ? "https" : "http"}://${host}:${port}/`;

  // The bot joins through the same server. Over TLS it trusts exactly the demo's certificate (pinned, so a
  // self-signed one works and the name it was issued for does not matter: the bot dials an address, not a name).
  const botUrl = `${options.tls ? "wss" : "ws"}://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}/signal`;
  const tls = options.tls;
  const PinnedWebSocket = tls
    ? class extends WebSocket {
        constructor(address) {
          super(address, { ca: tls.cert, checkServerIdentity: () => undefined });
        }
      }
    : undefined;
  const pinned = PinnedWebSocket ? { signal: { WebSocket: PinnedWebSocket } } : {};
  const bot = await Peer.connect(botUrl, pinned);
  // WHIP (OBS, GStreamer, ffmpeg, browser WHIP clients) publishes into any room; WHEP watches a member.
  whip = createWhipServer({ signalUrl: botUrl, peer: pinned, maxSessions: 20 });
  whip.on("session-started", (s) => log(`${s.kind} session in room "${s.roomName}" started`));
  whip.on("session-ended", (s, reason) => log(`${s.kind} session ended: ${reason}`));
  const room = await bot.join(roomName, { metadata: { name: "echo & record bot" } });
  await room.openChannel("chat");
  room.on("member-joined", (m) => log(`joined: ${m.id.slice(0, 8)}`));
  room.on("member-left", (m) => log(`left: ${m.id.slice(0, 8)}`));
  room.on("error", (e) => log(`error: ${e.message}`));
  room.on("connection-state", (m, state) => log(`${m.id.slice(0, 8)}: ${state}`));
  const stopEcho = echoRoom(room, log);
  const recorder = await Recorder.start(room, { dir: recordings, maxDurationMs: 10 * 60 * 1000 });
  recorder.on("started", (f) => {
    recordingNow.add(basename(f.path));
    log(`recording ${basename(f.path)}`);
  });
  recorder.on("finalized", (f) => {
    recordingNow.delete(basename(f.path));
    log(`recording finalized: ${basename(f.path)} (${f.bytes} bytes)`);
  });
  recorder.on("error", (e) => log(`recording error: ${e.message}`));

  let closed = false;
  return {
    url,
    port,
    turnPort,
    recordings,
    whipUrl: `${url}whip/${roomName}`,
    whepUrl: `${url}whep/${roomName}`,
    async close() {
      if (closed) return;
      closed = true;
      await whip.close();
      await recorder.stop();
      stopEcho();
      await bot.close();
      await signal.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
      await turn.close();
    },
  };
}

async function send(res, path, headers = {}) {
  let body;
  try {
    body = await stat(path);
  } catch {
    return notFound(res);
  }
  const type = TYPES[path.slice(path.lastIndexOf("."))] ?? "application/octet-stream";
  res.writeHead(200, { "content-type": type, "content-length": body.size, ...headers });
  if (path.endsWith(".html") || path.endsWith(".js")) res.end(await readFile(path));
  else createReadStream(path).pipe(res);
}

function notFound(res) {
  res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
}
