import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { SignalError, SignalErrorCode } from "../protocol/errors.js";
import type { SignalServer } from "./server.js";

/** Shortest admin token accepted: an operator's secret, not a password someone types. */
const MIN_TOKEN_LENGTH = 16;
const ROOM = /^[\w.:@-]{1,128}$/;
const MEMBER = /^[\w-]{1,64}$/;

type Reply = { status: number; body?: unknown };
type Route = {
  method: string;
  pattern: RegExp;
  run: (server: SignalServer, params: string[]) => Reply | Promise<Reply>;
};

/** The admin operations, one row each: method, path, what it does. */
const ROUTES: Route[] = [
  {
    method: "GET",
    pattern: /^\/rooms$/,
    run: async (server) => ({ status: 200, body: { rooms: await server.rooms() } }),
  },
  {
    method: "GET",
    pattern: /^\/rooms\/([^/]+)$/,
    run: async (server, [room]) => {
      const members = await server.roomMembers(room!);
      return members.length ? { status: 200, body: { room, members } } : notFound(`no members in room "${room}"`);
    },
  },
  {
    method: "DELETE",
    pattern: /^\/rooms\/([^/]+)$/,
    run: async (server, [room]) => {
      const removed = await server.closeRoom(room!);
      return removed ? { status: 200, body: { room, removed } } : notFound(`no members in room "${room}"`);
    },
  },
  {
    method: "DELETE",
    pattern: /^\/members\/([^/]+)$/,
    run: async (server, [id]) => ((await server.kick(id!)) ? { status: 204 } : notFound(`no session "${id}"`)),
  },
];

const notFound = (message: string): Reply => ({ status: 404, body: { error: "NOT_FOUND", message } });

/**
 * The admin HTTP API, for the standalone server (`parley-signal --admin-token`) or any http/Express app
 * (`app.use("/admin", adminHandler(signal, { token }))`): list rooms and members, end a member's session (kick:
 * its resume is revoked), close a room. Every request needs `Authorization: Bearer <token>`. Paths are relative
 * to where the handler is mounted: `/rooms`, `/rooms/{room}`, `/members/{id}`.
 */
export function adminHandler(
  server: SignalServer,
  options: { token: string; prefix?: string },
): (req: IncomingMessage, res: ServerResponse) => void {
  if (typeof options?.token !== "string" || options.token.length < MIN_TOKEN_LENGTH)
    throw new SignalError(
      SignalErrorCode.InvalidOption,
      `adminHandler needs a token of at least ${MIN_TOKEN_LENGTH} characters`,
    );
  const expected = createHash("sha256").update(options.token).digest();
  const prefix = options.prefix ?? "";
  return (req, res) => {
    const send = ({ status, body }: Reply) => {
      if (body === undefined) return void res.writeHead(status).end();
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "";
    // Compared as digests: equal length, constant time, whatever the caller sent.
    if (!timingSafeEqual(createHash("sha256").update(given).digest(), expected)) {
      res.setHeader("www-authenticate", 'Bearer realm="parley-signal admin"');
      return send({ status: 401, body: { error: "UNAUTHORIZED", message: "a valid admin bearer token is required" } });
    }
    let path: string;
    try {
      path = decodeURIComponent((req.url ?? "/").split("?")[0]!.slice(prefix.length));
    } catch {
      return send({ status: 400, body: { error: "BAD_REQUEST", message: "malformed percent-encoding in the path" } });
    }
    const matching = ROUTES.filter((r) => r.pattern.test(path));
    const route = matching.find((r) => r.method === req.method);
    if (!route) {
      if (matching.length === 0) return send(notFound(`no admin resource ${path}`));
      res.setHeader("allow", matching.map((r) => r.method).join(", "));
      return send({ status: 405, body: { error: "METHOD_NOT_ALLOWED", message: `${req.method} ${path}` } });
    }
    const params = route.pattern.exec(path)!.slice(1);
    if (params.some((p, i) => !(path.startsWith("/rooms") && i === 0 ? ROOM : MEMBER).test(p)))
      return send({ status: 400, body: { error: "BAD_REQUEST", message: `malformed name in ${path}` } });
    Promise.resolve(route.run(server, params)).then(send, (err: Error) =>
      err.name === "RedisUnavailable"
        ? send({ status: 503, body: { error: "UNAVAILABLE", message: "the session store (Redis) cannot be reached" } })
        : send({ status: 500, body: { error: "INTERNAL", message: err.message } }),
    );
  };
}
