import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { IceServer } from "@parley/signal";
import type { RTCPeerConnectionConfig } from "@parley/werift";
import { EventEmitter } from "eventemitter3";
import type { PeerOptions } from "../peer.js";
import { checkOfferShape } from "./client-connection.js";
import { bearerToken, readBody, sendError } from "./http-io.js";
import { iceServerLinks } from "./ice-links.js";
import { PublishSession } from "./publish-session.js";
import { parseSdpFrag } from "./sdp-frag.js";
import type { Session, SessionParams } from "./session.js";
import { WatchSession } from "./watch-session.js";
import { WhipError } from "./whip-error.js";
import { resolveWhipOptions } from "./whip-options.js";

export interface WhipOptions {
  /** The signalling server (ws:// or wss://) through which sessions join rooms, with the client's bearer token. */
  signalUrl: string;
  /** Where the handler is mounted (e.g. "/media" serves "/media/whip/{room}"). Default "". */
  prefix?: string;
  /** WHIP and WHEP sessions at once; beyond, POST answers 503 with Retry-After. Default 50. */
  maxSessions?: number;
  /** Largest request body (an SDP offer, an sdpfrag). Default 64 KiB. */
  maxBodyBytes?: number;
  /** A client connection not up this long after the answer ends its session. Default 15 s. */
  connectTimeoutMs?: number;
  /** Access-Control-Allow-Origin for browser clients on other origins; false sends no CORS headers. Default "*". */
  allowOrigin?: string | false;
  /** ICE servers advertised to clients in Link headers. Default: the ones signalling hands the session's member. */
  iceServers?: IceServer[];
  /** Options for each session's member in the room (ICE servers, werift settings); the token is the client's. */
  peer?: Omit<PeerOptions, "token">;
  /** werift settings for the connection to the WHIP/WHEP client (e.g. `iceAdditionalHostAddresses`). */
  rtc?: RTCPeerConnectionConfig;
}

export interface WhipServerEvents {
  "session-started": (session: Session) => void;
  "session-ended": (session: Session, reason: string) => void;
}

type Route = {
  pattern: RegExp;
  methods: Record<string, (req: IncomingMessage, res: ServerResponse, match: string[]) => Promise<void>>;
  /** Accept-Post or Accept-Patch for OPTIONS. */
  accept: Record<string, string>;
};

const SDP = "application/sdp";
const SDPFRAG = "application/trickle-ice-sdpfrag";
const ROOM_NAME = /^[\w.:@-]{1,128}$/;

/**
 * WHIP (RFC 9725) and WHEP endpoints for Parley rooms, as one request handler: `POST {prefix}/whip/{room}` publishes
 * into a room, `POST {prefix}/whep/{room}[/{member}]` watches one of its members; each session's resource is
 * `{prefix}/sessions/{id}` (PATCH for trickle ICE and ICE restarts, DELETE to end). Use `handle` from an http
 * server's request listener or as Express middleware.
 */
export class WhipServer extends EventEmitter<WhipServerEvents> {
  private readonly options: ReturnType<typeof resolveWhipOptions>;
  private readonly sessionMap = new Map<string, Session>();
  /** POSTs being answered: they hold a place against maxSessions. */
  private opening = 0;
  private closed = false;
  private readonly routes: Route[];

  constructor(options: WhipOptions) {
    super();
    this.options = resolveWhipOptions(options);
    this.routes = [
      {
        pattern: /^\/whip\/([^/]+)$/,
        methods: { POST: (req, res, [room]) => this.open(req, res, "whip", room!) },
        accept: { "accept-post": SDP },
      },
      {
        pattern: /^\/whep\/([^/]+)(?:\/([^/]+))?$/,
        methods: { POST: (req, res, [room, member]) => this.open(req, res, "whep", room!, member) },
        accept: { "accept-post": SDP },
      },
      {
        pattern: /^\/sessions\/([\w-]+)$/,
        methods: {
          PATCH: (req, res, [id]) => this.patch(req, res, id!),
          DELETE: (req, res, [id]) => this.delete(req, res, id!),
        },
        accept: { "accept-patch": SDPFRAG },
      },
    ];
  }

  get sessions(): ReadonlyMap<string, Session> {
    return this.sessionMap;
  }

  /**
   * Handles a request under the prefix and returns true; returns false (or calls `next`, as Express middleware) for
   * any other path.
   */
  handle = (req: IncomingMessage, res: ServerResponse, next?: () => void): boolean => {
    const url = req.url ?? "/";
    const path = url.split("?")[0]!;
    const { prefix } = this.options;
    if (!path.startsWith(`${prefix}/`)) {
      next?.();
      return false;
    }
    const local = path.slice(prefix.length);
    let match: RegExpExecArray | null = null;
    const route = this.routes.find((r) => (match = r.pattern.exec(local)));
    if (!route || !match) {
      next?.();
      return false;
    }
    this.cors(res);
    const method = req.method ?? "GET";
    const allow = ["OPTIONS", ...Object.keys(route.methods)].join(", ");
    if (method === "OPTIONS") {
      res.writeHead(204, {
        allow,
        ...route.accept,
        ...(this.options.allowOrigin
          ? {
              // The handler's CORS policy, not this path's: WHIP clients (eyevinn's) read PATCH here as "trickle ICE".
              "access-control-allow-methods": "OPTIONS, POST, PATCH, DELETE",
              "access-control-allow-headers": "Authorization, Content-Type, If-Match",
              "access-control-max-age": "600",
            }
          : {}),
        ...(this.options.iceServers && route.accept["accept-post"]
          ? { link: iceServerLinks(this.options.iceServers) }
          : {}),
      });
      res.end();
      return true;
    }
    const handler = route.methods[method];
    const params = (match as RegExpExecArray).slice(1);
    const run = handler
      ? decodeAll(params).then((decoded) => handler(req, res, decoded))
      : Promise.reject(
          new WhipError(405, "METHOD_NOT_ALLOWED", `${method} is not allowed here; use ${allow}`, { allow }),
        );
    run.catch((err: unknown) => {
      req.resume();
      sendError(
        res,
        err instanceof WhipError
          ? err
          : new WhipError(500, "INTERNAL_ERROR", `internal error: ${(err as Error).message}`),
      );
    });
    return true;
  };

  /** Ends every session and refuses new ones. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.sessionMap.values()].map((s) => s.end("the WHIP server is closing")));
  }

  private async open(
    req: IncomingMessage,
    res: ServerResponse,
    kind: "whip" | "whep",
    room: string,
    member?: string,
  ): Promise<void> {
    if (!ROOM_NAME.test(room)) {
      throw new WhipError(400, "BAD_ROOM", `"${room.slice(0, 64)}" is not a room name (1–128 of [A-Za-z0-9_.:@-])`);
    }
    if (this.closed || this.sessionMap.size + this.opening >= this.options.maxSessions) {
      req.resume();
      throw new WhipError(503, "AT_CAPACITY", `at capacity (${this.options.maxSessions} sessions)`, {
        "retry-after": "10",
      });
    }
    const token = bearerToken(req);
    this.opening++;
    try {
      const offer = await readBody(req, SDP, this.options.maxBodyBytes);
      checkOfferShape(offer);
      const params = this.sessionParams(token);
      const { session, sdp } =
        kind === "whip"
          ? await PublishSession.open(params, room, offer)
          : await WatchSession.open(params, room, member, offer);
      if (session.isEnded) throw new WhipError(502, "SIGNAL_UNAVAILABLE", "the session ended while being set up");
      if (this.closed) {
        // close() ran while this offer was being answered: it must not leave a session behind.
        await session.end("the WHIP server is closing");
        throw new WhipError(503, "AT_CAPACITY", "the WHIP server is closing", { "retry-after": "10" });
      }
      this.sessionMap.set(session.id, session);
      this.emit("session-started", session);
      const location = `${this.options.prefix}/sessions/${session.id}`;
      const servers = this.options.iceServers ?? session.peer.iceServers;
      res.writeHead(201, {
        location,
        etag: session.connection.etag,
        "content-type": SDP,
        "accept-patch": SDPFRAG,
        ...(servers.length > 0 ? { link: iceServerLinks(servers) } : {}),
      });
      res.end(sdp);
    } finally {
      this.opening--;
    }
  }

  private async patch(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const session = this.authorized(req, id);
    const frag = parseSdpFrag(await readBody(req, SDPFRAG, this.options.maxBodyBytes));
    const ifMatch = req.headers["if-match"];
    const restarted = await session.connection.patch(frag, ifMatch);
    if (restarted === undefined) return void res.writeHead(204).end();
    res.writeHead(200, { "content-type": SDPFRAG, etag: session.connection.etag }).end(restarted);
  }

  private async delete(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const session = this.authorized(req, id);
    req.resume();
    await session.end("the client deleted it");
    res.writeHead(200).end();
  }

  /** The session `id`, if the request may act on it: the token it was created with, if any, must come again. */
  private authorized(req: IncomingMessage, id: string): Session {
    const session = this.sessionMap.get(id);
    if (!session) throw new WhipError(404, "NOT_FOUND", `no session ${id} (ended, or never created)`);
    const expected = session.params.token;
    if (expected !== undefined && !sameToken(bearerToken(req) ?? "", expected)) {
      throw new WhipError(401, "UNAUTHORIZED", "this session needs the bearer token it was created with", {
        "www-authenticate": 'Bearer realm="parley"',
      });
    }
    return session;
  }

  private sessionParams(token: string | undefined): SessionParams {
    const { signalUrl, peer, rtc, connectTimeoutMs } = this.options;
    return {
      id: randomBytes(16).toString("base64url"),
      token,
      link: { signalUrl, peer },
      clientRtc: { bundlePolicy: "max-bundle", ...rtc },
      connectTimeoutMs,
      onEnd: (session, reason) => {
        if (this.sessionMap.get(session.id) !== session) return;
        this.sessionMap.delete(session.id);
        this.emit("session-ended", session, reason);
      },
    };
  }

  private cors(res: ServerResponse): void {
    const origin = this.options.allowOrigin;
    if (!origin) return;
    res.setHeader("access-control-allow-origin", origin);
    res.setHeader("access-control-expose-headers", "Location, ETag, Link, Accept-Post, Accept-Patch, Retry-After");
  }
}

/** Creates the WHIP/WHEP handler; options are checked here (PeerError INVALID_OPTION naming the option). */
export function createWhipServer(options: WhipOptions): WhipServer {
  return new WhipServer(options);
}

async function decodeAll(params: Array<string | undefined>): Promise<string[]> {
  try {
    return params.map((p) => (p === undefined ? (undefined as unknown as string) : decodeURIComponent(p)));
  } catch {
    throw new WhipError(400, "BAD_REQUEST", "malformed percent-encoding in the path");
  }
}

function sameToken(given: string, expected: string): boolean {
  // Compared as digests: equal length, constant time, whatever the client sent.
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
