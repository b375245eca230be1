// The WHIP/WHEP HTTP surface, written from RFC 9725 and the README with plain HTTP requests: every status code and
// header a client relies on. Offers are real (werift's); media flow is tested in test/interop/whip-*.test.ts.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createSignalServer, type SignalServer, signToken } from "@parley/signal";
import { MediaStreamTrack, RTCPeerConnection } from "@parley/werift";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createWhipServer, PeerError, type WhipOptions, type WhipServer } from "../src/index.js";
import { LOOPBACK } from "./helpers/room-fixture.js";

const SECRET = "whip-http-test-secret-0123456789";
const ROOMS = ["stage", "stage-*"];
const TOKEN = signToken(SECRET, { sub: "tester", rooms: ROOMS }, 600);

let signal: SignalServer;
let signalUrl: string;
const servers: Array<{ whip: WhipServer; http: Server }> = [];
const clients: RTCPeerConnection[] = [];

beforeAll(async () => {
  signal = createSignalServer({
    tokenSecret: SECRET,
    turn: { secret: "turn-rest-secret", urls: ["turn:127.0.0.1:9?transport=udp"] },
  });
  signalUrl = `ws://127.0.0.1:${await signal.listen(0)}`;
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((pc) => pc.close()));
  for (const { whip, http } of servers.splice(0)) {
    await whip.close();
    http.close();
  }
});
afterAll(() => signal.close());

/** A WHIP/WHEP server on a free port; returns its base URL. */
async function start(options: Partial<WhipOptions> = {}): Promise<{ base: string; whip: WhipServer }> {
  const whip = createWhipServer({ signalUrl, peer: { rtc: LOOPBACK }, rtc: LOOPBACK, ...options });
  const http = createServer((req, res) => {
    if (!whip.handle(req, res)) res.writeHead(404, { "x-host-app": "yes" }).end();
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  servers.push({ whip, http });
  return { base: `http://127.0.0.1:${(http.address() as AddressInfo).port}${options.prefix ?? ""}`, whip };
}

/** A real offer: sendonly audio + video (a publisher) or recvonly (a viewer). */
async function offer(kind: "publish" | "watch" = "publish"): Promise<string> {
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", ...LOOPBACK });
  clients.push(pc);
  for (const media of ["audio", "video"] as const) {
    if (kind === "publish") pc.addTransceiver(new MediaStreamTrack({ kind: media }), { direction: "sendonly" });
    else pc.addTransceiver(media, { direction: "recvonly" });
  }
  await pc.setLocalDescription(await pc.createOffer());
  return pc.localDescription!.sdp;
}

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/sdp", authorization: `Bearer ${TOKEN}`, ...headers },
    body,
  });
const patch = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: "PATCH",
    headers: { "content-type": "application/trickle-ice-sdpfrag", authorization: `Bearer ${TOKEN}`, ...headers },
    body,
  });
const errorOf = async (res: Response) => ((await res.json()) as { error: string; message: string }).error;

describe("WHIP endpoint (POST /whip/{room})", () => {
  it("OPTIONS: 204 with Accept-Post and the CORS a browser client needs", async () => {
    const { base } = await start();
    const res = await fetch(`${base}/whip/stage`, { method: "OPTIONS" });
    expect(res.status).toBe(204);
    expect(res.headers.get("accept-post")).toBe("application/sdp");
    expect(res.headers.get("allow")).toBe("OPTIONS, POST");
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-methods")).toContain("PATCH");
    expect(res.headers.get("access-control-allow-headers")).toMatch(/Authorization.*Content-Type.*If-Match/);
    expect(res.headers.get("access-control-expose-headers")).toMatch(/Location.*ETag.*Link/);
  });

  it("201 with Location, ETag, Content-Type, the answer and Link headers carrying TURN REST credentials", async () => {
    const { base, whip } = await start();
    const res = await post(`${base}/whip/stage`, await offer());
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toBe("application/sdp");
    expect(res.headers.get("location")).toMatch(/^\/sessions\/[\w-]{22}$/);
    expect(res.headers.get("etag")).toMatch(/^"[\w-]+"$/);
    expect(res.headers.get("accept-patch")).toBe("application/trickle-ice-sdpfrag");
    const answer = await res.text();
    expect(answer).toMatch(/^v=0\r\n/);
    expect(answer).toMatch(/^a=candidate:.* typ host/m);
    expect(answer).toMatch(/^a=recvonly/m);
    // RFC 9725 §4.6: one Link per ICE server URL, with username, credential and credential-type for TURN.
    expect(res.headers.get("link")).toMatch(
      /^<turn:127\.0\.0\.1:9\?transport=udp>; rel="ice-server"; username="\d+:tester"; credential="[^"]+"; credential-type="password"$/,
    );
    expect(whip.sessions.size).toBe(1);
    const session = [...whip.sessions.values()][0]!;
    expect(session.kind).toBe("whip");
    expect(session.roomName).toBe("stage");
  });

  it.each([
    ["no Content-Type", {}, 415, "UNSUPPORTED_MEDIA_TYPE"],
    ["text/plain", { "content-type": "text/plain" }, 415, "UNSUPPORTED_MEDIA_TYPE"],
    ["application/json", { "content-type": "application/json" }, 415, "UNSUPPORTED_MEDIA_TYPE"],
  ])("%s: %i %s", async (_what, headers, status, code) => {
    const { base } = await start();
    const res = await fetch(`${base}/whip/stage`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, ...headers },
      body: await offer(),
    });
    expect(res.status).toBe(status);
    expect(await errorOf(res)).toBe(code);
  });

  it.each([
    ["not SDP", "hello", "BAD_SDP", /starts with v=0/],
    ["no media section", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", "BAD_SDP", /no media section/],
    [
      "only a data channel",
      "v=0\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n",
      "BAD_SDP",
      /no audio or video/,
    ],
    ["no ICE credentials", "v=0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n", "BAD_SDP", /ice-ufrag/],
  ])("a bad offer (%s): 400 %s", async (_what, body, code, message) => {
    const { base, whip } = await start();
    const res = await post(`${base}/whip/stage`, body);
    expect(res.status).toBe(400);
    const json = (await res.json()) as { error: string; message: string };
    expect(json.error).toBe(code);
    expect(json.message).toMatch(message);
    expect(whip.sessions.size).toBe(0);
  });

  it("an offer with no codec we take (video H.265 only): 400 NO_COMMON_CODEC", async () => {
    const { base } = await start();
    const sdp = (await offer()).replace(/VP8\/90000/g, "H265/90000").replace(/^m=audio[\s\S]*?(?=^m=)/m, "");
    const res = await post(`${base}/whip/stage`, sdp.replace(/a=group:BUNDLE \S+ /, "a=group:BUNDLE "));
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toBe("NO_COMMON_CODEC");
  });

  it("a body over maxBodyBytes: 413, whether announced by Content-Length or streamed", async () => {
    const { base } = await start({ maxBodyBytes: 4096 });
    const big = `v=0\r\n${"a=x\r\n".repeat(2000)}`;
    const declared = await post(`${base}/whip/stage`, big);
    expect(declared.status).toBe(413);
    expect(await errorOf(declared)).toBe("PAYLOAD_TOO_LARGE");
    const chunks = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode("a=x\r\n".repeat(200)));
        controller.close();
      },
    });
    const streamed = await fetch(`${base}/whip/stage`, {
      method: "POST",
      headers: { "content-type": "application/sdp", authorization: `Bearer ${TOKEN}` },
      body: chunks,
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
  });

  it.each([
    ["no token", undefined, 401, "UNAUTHORIZED"],
    [
      "a token signed with another secret",
      signToken("another-secret-0123456789abcdef", { sub: "x" }),
      401,
      "UNAUTHORIZED",
    ],
    ["a Basic header", "Basic dXNlcjpwYXNz", 401, "UNAUTHORIZED"],
    ["a token for other rooms", signToken(SECRET, { sub: "x", rooms: ["other"] }), 403, "FORBIDDEN"],
  ])("%s: %i %s, as signalling would refuse it", async (_what, auth, status, code) => {
    const { base, whip } = await start();
    const authorization = auth === undefined ? undefined : auth.startsWith("Basic") ? auth : `Bearer ${auth}`;
    const res = await fetch(`${base}/whip/stage`, {
      method: "POST",
      headers: { "content-type": "application/sdp", ...(authorization ? { authorization } : {}) },
      body: await offer(),
    });
    expect(res.status).toBe(status);
    expect(await errorOf(res)).toBe(code);
    if (status === 401) expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(whip.sessions.size).toBe(0);
  });

  it.each([
    ["a space", "/whip/bad%20room", "BAD_ROOM"],
    ["129 characters", `/whip/${"r".repeat(129)}`, "BAD_ROOM"],
    ["malformed percent-encoding", "/whip/%E0%A4%A", "BAD_REQUEST"],
  ])("a room name with %s: 400 %s", async (_what, path, code) => {
    const { base } = await start();
    const res = await post(`${base}${path}`, await offer());
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toBe(code);
  });

  it("GET and PUT: 405 with Allow", async () => {
    const { base } = await start();
    for (const method of ["GET", "PUT"]) {
      const res = await fetch(`${base}/whip/stage`, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("OPTIONS, POST");
    }
  });

  it("at maxSessions: 503 with Retry-After; a place comes back when a session ends", async () => {
    const { base, whip } = await start({ maxSessions: 1 });
    const first = await post(`${base}/whip/stage`, await offer());
    expect(first.status).toBe(201);
    const second = await post(`${base}/whip/stage`, await offer());
    expect(second.status).toBe(503);
    expect(second.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await errorOf(second)).toBe("AT_CAPACITY");
    await fetch(new URL(first.headers.get("location")!, base), {
      method: "DELETE",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(whip.sessions.size).toBe(0);
    expect((await post(`${base}/whip/stage`, await offer())).status).toBe(201);
  });

  it("a session whose client never connects ends after connectTimeoutMs", async () => {
    const { base, whip } = await start({ connectTimeoutMs: 1000 });
    const ended: string[] = [];
    whip.on("session-ended", (_s, reason) => ended.push(reason));
    expect((await post(`${base}/whip/stage`, await offer())).status).toBe(201);
    await expect.poll(() => whip.sessions.size, { timeout: 5000 }).toBe(0);
    expect(ended[0]).toMatch(/not up within 1000 ms/);
  });

  it("signalling unreachable: 502 SIGNAL_UNAVAILABLE", async () => {
    const { base } = await start({ signalUrl: "ws://127.0.0.1:9" });
    const res = await post(`${base}/whip/stage`, await offer());
    expect(res.status).toBe(502);
    expect(await errorOf(res)).toBe("SIGNAL_UNAVAILABLE");
  });

  it("paths it does not serve go to the host app (returns false / calls next)", async () => {
    const { base } = await start({ prefix: "/media" });
    for (const path of ["/media/whip", "/media/whip/a/b", "/media/other", "/whip/stage"]) {
      const res = await fetch(`${base.replace("/media", "")}${path}`, { method: "POST" });
      expect([path, res.headers.get("x-host-app")]).toEqual([path, "yes"]);
    }
    expect((await post(`${base}/whip/stage`, await offer())).status).toBe(201);
  });
});

describe("WHEP endpoint (POST /whep/{room}[/{member}])", () => {
  it("an empty room or an unknown member: 404 NOT_FOUND", async () => {
    const { base } = await start();
    const empty = await post(`${base}/whep/stage-empty`, await offer("watch"));
    expect(empty.status).toBe(404);
    expect(await errorOf(empty)).toBe("NOT_FOUND");
    const publisher = await post(`${base}/whip/stage-2`, await offer());
    expect(publisher.status).toBe(201);
    const unknown = await post(`${base}/whep/stage-2/no-such-member`, await offer("watch"));
    expect(unknown.status).toBe(404);
    expect((await unknown.json()) as { message: string }).toMatchObject({ message: /no member "no-such-member"/ });
    const watch = await post(`${base}/whep/stage-2`, await offer("watch"));
    expect(watch.status).toBe(201);
    expect(await watch.text()).toMatch(/^a=sendonly/m);
  });
});

describe("session resource (PATCH/DELETE /sessions/{id})", () => {
  async function session(options: Partial<WhipOptions> = {}) {
    const { base } = await start(options);
    const res = await post(`${base}/whip/stage`, await offer());
    expect(res.status).toBe(201);
    const answer = await res.text();
    const origin = base.replace(/(\/\/[^/]+).*/, "$1");
    return { url: `${origin}${res.headers.get("location")}`, etag: res.headers.get("etag")!, answer, base };
  }
  const candidate = "a=candidate:1 1 udp 2122260223 127.0.0.1 61764 typ host";

  it("OPTIONS: 204 with Accept-Patch", async () => {
    const { url } = await session();
    const res = await fetch(url, { method: "OPTIONS" });
    expect(res.status).toBe(204);
    expect(res.headers.get("accept-patch")).toBe("application/trickle-ice-sdpfrag");
    expect(res.headers.get("allow")).toBe("OPTIONS, PATCH, DELETE");
  });

  it("trickle ICE: 204, with or without If-Match naming the current ETag", async () => {
    const { url, etag } = await session();
    expect((await patch(url, `${candidate}\r\n`)).status).toBe(204);
    expect(
      (
        await patch(url, `m=audio 9 RTP/AVP 0\r\na=mid:0\r\n${candidate}\r\na=end-of-candidates\r\n`, {
          "if-match": etag,
        })
      ).status,
    ).toBe(204);
  });

  it("If-Match naming another ICE session: 412", async () => {
    const { url } = await session();
    const res = await patch(url, `${candidate}\r\n`, { "if-match": '"stale"' });
    expect(res.status).toBe(412);
    expect(await errorOf(res)).toBe("PRECONDITION_FAILED");
  });

  it("ICE restart: new credentials without If-Match are 428; with it, 200, our new credentials and a new ETag", async () => {
    const { url, etag, answer } = await session();
    const restart = "a=ice-ufrag:Zx9q\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n";
    const required = await patch(url, restart);
    expect(required.status).toBe(428);
    expect(await errorOf(required)).toBe("PRECONDITION_REQUIRED");
    const res = await patch(url, restart, { "if-match": etag });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/trickle-ice-sdpfrag");
    const newEtag = res.headers.get("etag")!;
    expect(newEtag).toMatch(/^"[\w-]+"$/);
    expect(newEtag).not.toBe(etag);
    const frag = await res.text();
    const oldUfrag = /a=ice-ufrag:(\S+)/.exec(answer)![1];
    expect(frag).toMatch(/^a=ice-ufrag:\S+\r\na=ice-pwd:\S+\r\n/);
    expect(/a=ice-ufrag:(\S+)/.exec(frag)![1]).not.toBe(oldUfrag);
    expect(frag).toMatch(/^a=candidate:.* typ host/m);
    expect(frag).toMatch(/a=end-of-candidates\r\n$/);
    // The old ETag names an ICE session that is gone; "*" always matches.
    expect((await patch(url, `${candidate}\r\n`, { "if-match": etag })).status).toBe(412);
    expect((await patch(url, `${candidate}\r\n`, { "if-match": newEtag })).status).toBe(204);
    const again = await patch(url, restart.replace("Zx9q", "Yw8p"), { "if-match": "*" });
    expect(again.status).toBe(200);
  });

  it.each([
    ["text/plain", "a=end-of-candidates\r\n", { "content-type": "text/plain" }, 415, "UNSUPPORTED_MEDIA_TYPE"],
    ["not SDP lines", "hello\r\n", {}, 400, "BAD_SDPFRAG"],
    ["a broken candidate", "a=candidate:garbage\r\n", {}, 400, "BAD_SDPFRAG"],
    ["ice-ufrag without ice-pwd", "a=ice-ufrag:abcd\r\n", {}, 400, "BAD_SDPFRAG"],
    ["a 2-character ice-ufrag", "a=ice-ufrag:ab\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n", {}, 400, "BAD_SDPFRAG"],
    ["65 candidates", `${candidate}\r\n`.repeat(65), {}, 400, "BAD_SDPFRAG"],
  ])("PATCH with %s: %i %s", async (_what, body, headers, status, code) => {
    const { url } = await session();
    const res = await patch(url, body, headers as Record<string, string>);
    expect(res.status).toBe(status);
    expect(await errorOf(res)).toBe(code);
  });

  it("PATCH and DELETE need the token the session was made with: 401 without it, or with another", async () => {
    const { url } = await session();
    const other = signToken(SECRET, { sub: "other", rooms: ROOMS }, 600);
    for (const authorization of [undefined, `Bearer ${other}`]) {
      const headers = authorization ? { authorization } : {};
      const patched = await fetch(url, {
        method: "PATCH",
        headers: { "content-type": "application/trickle-ice-sdpfrag", ...headers },
        body: "a=end-of-candidates\r\n",
      });
      expect(patched.status).toBe(401);
      expect((await fetch(url, { method: "DELETE", headers })).status).toBe(401);
    }
  });

  it("DELETE: 200 and the session is gone (later PATCH and DELETE: 404); the member leaves the room", async () => {
    const { url } = await session();
    const watcher = signal.rooms.bind(signal);
    await expect.poll(async () => (await watcher()).find((r) => r.room === "stage")?.members ?? 0).toBe(1);
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await fetch(url, { method: "DELETE", headers: auth })).status).toBe(200);
    expect((await fetch(url, { method: "DELETE", headers: auth })).status).toBe(404);
    expect((await patch(url, "a=end-of-candidates\r\n")).status).toBe(404);
    await expect.poll(async () => (await watcher()).find((r) => r.room === "stage")?.members ?? 0).toBe(0);
  });

  it("an unknown session: 404", async () => {
    const { base } = await start();
    const origin = base.replace(/(\/\/[^/]+).*/, "$1");
    expect((await patch(`${origin}/sessions/AAAAAAAAAAAAAAAAAAAAAA`, "a=end-of-candidates\r\n")).status).toBe(404);
  });
});

describe("options", () => {
  it.each([
    [{ signalUrl: "http://127.0.0.1:8080" }, /signalUrl must be a ws:\/\/ or wss:\/\/ URL/],
    [{ signalUrl: "ws://x", maxSessions: 0 }, /maxSessions must be an integer from 1/],
    [{ signalUrl: "ws://x", maxBodyBytes: 10 }, /maxBodyBytes must be an integer from 1024/],
    [{ signalUrl: "ws://x", connectTimeoutMs: 1.5 }, /connectTimeoutMs must be an integer/],
    [{ signalUrl: "ws://x", prefix: "media/" }, /prefix must be a path like "\/media"/],
    [{ signalUrl: "ws://x", allowOrigin: "evil origin" }, /allowOrigin must be/],
    [{ signalUrl: "ws://x", iceServers: "stun:x" }, /iceServers must be an array/],
  ])("%o: INVALID_OPTION naming it", (options, message) => {
    let caught: unknown;
    try {
      createWhipServer(options as WhipOptions);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PeerError);
    expect(caught).toMatchObject({ code: "INVALID_OPTION", message });
  });
});
