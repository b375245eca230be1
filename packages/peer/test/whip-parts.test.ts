// The pieces under the WHIP/WHEP endpoints, at their edges: the sdpfrag reader (RFC 8840), the Link header writer
// (RFC 9725 §4.6) and the bound on PATCHes waiting on one session.
import { MediaStreamTrack, RTCPeerConnection } from "@parley/werift";
import { afterEach, describe, expect, it } from "vitest";
import { parseSdpFrag } from "../src/index.js";
import { ClientConnection } from "../src/whip/client-connection.js";
import { iceServerLinks } from "../src/whip/ice-links.js";
import { WhipError } from "../src/whip/whip-error.js";
import { LOOPBACK } from "./helpers/room-fixture.js";

describe("parseSdpFrag", () => {
  it("reads credentials, candidates with their mid, and end-of-candidates, with CRLF or LF", () => {
    const frag = parseSdpFrag(
      "a=ice-ufrag:EsAw\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n" +
        "a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0\r\n" +
        "a=end-of-candidates\r\n",
    );
    expect(frag).toEqual({
      ufrag: "EsAw",
      pwd: "P2uYro0UCOQ4zxjKXaWCBui1",
      candidates: [
        { candidate: "candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0", mid: "0" },
      ],
      endOfCandidates: true,
    });
  });

  it("takes an empty body (nothing to add) and lines ICE does not need", () => {
    expect(parseSdpFrag("")).toEqual({ candidates: [], endOfCandidates: false });
    expect(parseSdpFrag("a=ice-options:trickle\r\nc=IN IP4 0.0.0.0\r\n").candidates).toEqual([]);
  });

  it.each([
    ["a line that is not SDP", "hello", /line 1 is not an SDP line/],
    ["a line over 1024 characters", `a=candidate:${"x".repeat(1100)}`, /line 1 is over 1024/],
    ["a candidate without typ", "a=candidate:1 1 udp 1 1.2.3.4 5", /not an ICE candidate/],
    ["a ufrag with a space", "a=ice-ufrag:ab cd\na=ice-pwd:abcdefghijklmnopqrstuvwx", /ice-ufrag must be 4–256/],
    ["a 21-character pwd", "a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstu", /ice-pwd must be 22–256/],
    ["a pwd without ufrag", "a=ice-pwd:abcdefghijklmnopqrstuvwx", /needs both ice-ufrag and ice-pwd/],
  ])("refuses %s with BAD_SDPFRAG naming it", (_what, body, message) => {
    expect(() => parseSdpFrag(body)).toThrow(message);
    try {
      parseSdpFrag(body);
    } catch (err) {
      expect(err).toBeInstanceOf(WhipError);
      expect(err).toMatchObject({ status: 400, code: "BAD_SDPFRAG" });
    }
  });
});

describe("iceServerLinks", () => {
  it("writes one link per URL, credentials for TURN, quoted-string escapes", () => {
    expect(
      iceServerLinks([
        { urls: "stun:stun.example.net" },
        { urls: ["turn:t.example.net?transport=udp", "turns:t.example.net"], username: 'a"b\\c', credential: "p" },
      ]),
    ).toBe(
      '<stun:stun.example.net>; rel="ice-server", ' +
        '<turn:t.example.net?transport=udp>; rel="ice-server"; username="a\\"b\\\\c"; credential="p"; credential-type="password", ' +
        '<turns:t.example.net>; rel="ice-server"; username="a\\"b\\\\c"; credential="p"; credential-type="password"',
    );
  });
});

describe("ClientConnection PATCH queue", () => {
  const open: RTCPeerConnection[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((pc) => pc.close()));
  });

  it("lets 8 PATCHes wait on a session and refuses the 9th with 429, then takes more once they are done", async () => {
    const client = new RTCPeerConnection(LOOPBACK);
    open.push(client);
    client.addTransceiver(new MediaStreamTrack({ kind: "video" }), { direction: "sendonly" });
    await client.setLocalDescription(await client.createOffer());
    const { connection } = await ClientConnection.answer(client.localDescription!.sdp, LOOPBACK, {});
    open.push(connection.pc);
    const frag = parseSdpFrag("a=candidate:1 1 udp 2122260223 127.0.0.1 9 typ host\r\n");
    const waiting = Array.from({ length: 8 }, () => connection.patch(frag, undefined));
    await expect(connection.patch(frag, undefined)).rejects.toMatchObject({ status: 429, code: "TOO_MANY_REQUESTS" });
    await Promise.all(waiting);
    await expect(connection.patch(frag, undefined)).resolves.toBeUndefined();
  });
});
