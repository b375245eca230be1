import { createServer } from "node:http";
import { PeerError } from "../errors.js";
import { createWhipServer } from "../whip/whip-server.js";
import { UsageError } from "./usage-error.js";

export const WHIP_SERVER_USAGE = `Usage: parley whip-server [--signal URL] [--port P] [--host H] [--max-sessions N]
  WHIP and WHEP (RFC 9725) for the rooms of a Parley signalling server:
    POST /whip/{room}             publish into the room (OBS, GStreamer, ffmpeg, a browser WHIP client)
    POST /whep/{room}[/{member}]  watch a member (the first one sending media, if none is named)
    PATCH, DELETE /sessions/{id}  trickle ICE and ICE restarts; end the session
  Clients send their signalling token as "Authorization: Bearer <token>"; the room grant is the server's to check.
      --signal URL        signalling server, ws:// or wss:// (default $PARLEY_URL or ws://127.0.0.1:8080/signal)
      --port P            HTTP port (default 8090)
      --host H            address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
      --max-sessions N    WHIP and WHEP sessions at once; beyond, 503 with Retry-After (default 50)
      --prefix PATH       serve under PATH (e.g. /media), as behind a reverse proxy
      --allow-origin O    CORS origin for browser clients on other origins (default *; "none" sends no CORS)
  -h, --help`;

export interface WhipServerArgs {
  signal?: string | undefined;
  port?: string | undefined;
  host?: string | undefined;
  "max-sessions"?: string | undefined;
  prefix?: string | undefined;
  "allow-origin"?: string | undefined;
}

/** Runs `parley whip-server` until SIGINT/SIGTERM, which end every session (their members leave) and close. */
export async function runWhipServer(args: WhipServerArgs, say: (line: string) => void): Promise<void> {
  const port = integerArg("--port", args.port, 8090, 0, 65535);
  const maxSessions = integerArg("--max-sessions", args["max-sessions"], 50, 1, 100_000);
  const signalUrl = args.signal ?? process.env.PARLEY_URL ?? "ws://127.0.0.1:8080/signal";
  const allowOrigin = args["allow-origin"] === "none" ? false : (args["allow-origin"] ?? "*");
  let whip: ReturnType<typeof createWhipServer>;
  try {
    whip = createWhipServer({ signalUrl, maxSessions, allowOrigin, prefix: args.prefix ?? "" });
  } catch (err) {
    // The library's INVALID_OPTION names the option; say it with the flag's name.
    if (err instanceof PeerError) throw new UsageError(flagged(err.message), WHIP_SERVER_USAGE);
    throw err;
  }
  whip.on("session-started", (s) => say(`${s.kind} session ${s.id.slice(0, 8)} in room "${s.roomName}" started`));
  whip.on("session-ended", (s, reason) => say(`${s.kind} session ${s.id.slice(0, 8)} ended: ${reason}`));
  const http = createServer((req, res) => {
    if (!whip.handle(req, res)) res.writeHead(404, { "content-type": "text/plain" }).end("not a WHIP/WHEP path\n");
  });
  const host = args.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(port, host, () => resolve());
  });
  const address = http.address();
  const bound = typeof address === "object" && address ? address.port : port;
  say(`WHIP/WHEP on http://${host}:${bound}${args.prefix ?? ""}/whip/{room} and /whep/{room}, rooms of ${signalUrl}`);

  let stopping = false;
  const shutdown = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    say(`stopping: ${reason}`);
    http.close();
    http.closeAllConnections();
    await whip.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("Ctrl-C"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

function integerArg(flag: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`${flag}: "${text}" is not an integer from ${min} to ${max}`, WHIP_SERVER_USAGE);
  }
  return value;
}

const flagged = (message: string) =>
  message
    .replace(/^signalUrl/, "--signal")
    .replace(/^prefix/, "--prefix")
    .replace(/^allowOrigin/, "--allow-origin");
