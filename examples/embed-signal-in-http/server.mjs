#!/usr/bin/env node
// Parley signalling inside an app you already run on plain node:http. Your routes keep working; WebSocket upgrades
// on /signal go to Parley, and upgrades elsewhere are left for you.
//
//   node examples/embed-signal-in-http/server.mjs          (PORT=0 picks a free port)
import { createServer } from "node:http";
import { createSignalServer, signToken } from "@parley/signal";

const secret = process.env.PARLEY_TOKEN_SECRET ?? "change-me-in-production";

const signal = createSignalServer({
  // Only holders of a token we signed get in, and only to the rooms the token names.
  tokenSecret: secret,
  roomCapacity: 8,
});

// Your existing app. A real one would check who is asking before handing out a token.
const app = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/token") {
    const user = url.searchParams.get("user") ?? "guest";
    const token = signToken(secret, { sub: user, rooms: ["team-*"] }, 600);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token }));
    return;
  }
  res.writeHead(200, { "content-type": "text/plain" }).end("hello from the existing app\n");
});

signal.attach(app, "/signal");
// attach() only takes upgrades on its path; answer the rest (or hand them to your own WebSocket code), since Node
// leaves an upgrade nobody answers hanging.
app.on("upgrade", (req, socket) => {
  if (new URL(req.url ?? "/", "http://localhost").pathname !== "/signal") socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
});

app.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  const { port } = app.address();
  console.log(`app listening on http://127.0.0.1:${port} (signalling at ws://127.0.0.1:${port}/signal)`);
});

// Ctrl-C: tell connected clients goodbye (they reconnect elsewhere), then stop.
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
async function shutdown() {
  await signal.close();
  app.closeAllConnections();
  app.close(() => process.exit(0));
}
