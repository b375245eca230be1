#!/usr/bin/env node
// Parley signalling in an Express app. Express does not see WebSocket upgrades (they arrive on the HTTP server's
// "upgrade" event, not as requests), so the app's own server hands them to `signal.handleUpgrade` — the same call
// works for Fastify (`fastify.server`) and Koa (`app.listen()`'s server). WHIP and WHEP (OBS, browser WHIP clients,
// WHEP players) are Express middleware: `POST /whip/{room}` with the same tokens publishes into a room.
//
//   node examples/embed-signal-in-express/server.mjs       (PORT=0 picks a free port)
import { createWhipServer } from "@parley/peer";
import { createSignalServer, signToken } from "@parley/signal";
import express from "express";

const secret = process.env.PARLEY_TOKEN_SECRET ?? "change-me-in-production";
const signal = createSignalServer({
  tokenSecret: secret,
  // Browsers send Origin; refuse pages from elsewhere (non-browser clients send none and are let in by the token).
  allowedOrigins: process.env.ALLOWED_ORIGIN ? [process.env.ALLOWED_ORIGIN] : undefined,
});

const app = express();
app.get("/token", (req, res) => {
  // Stand-in for your login: whoever is signed in gets a 10-minute token for their team's rooms.
  const user = String(req.query.user ?? "guest");
  res.json({ token: signToken(secret, { sub: user, rooms: ["team-*"] }, 600) });
});
app.get("/", (_req, res) => res.send("hello from express\n"));
// WHIP sessions join rooms through this app's own signalling, so the handler is made once the port is known.
let whip;
app.use((req, res, next) => (whip ? whip.handle(req, res, next) : next()));

const server = app.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  const { port } = server.address();
  whip = createWhipServer({ signalUrl: `ws://127.0.0.1:${port}/signal` });
  console.log(`express listening on http://127.0.0.1:${port} (signalling at ws://127.0.0.1:${port}/signal)`);
});

server.on("upgrade", (req, socket, head) => {
  if (new URL(req.url, "http://localhost").pathname === "/signal") signal.handleUpgrade(req, socket, head);
  else socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
});

process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
async function shutdown() {
  await whip?.close();
  await signal.close();
  server.closeAllConnections();
  server.close(() => process.exit(0));
}
