// A guard beside patch 20: junk from a stranger — anyone who can reach a bot's UDP port, with no credentials — must
// not crash or hang werift. Malformed STUN (lengths past the end, a zero-length attribute, bad UTF-8), packets that
// look like DTLS records, RTP or RTCP but are not, and runts all reach the ICE socket before anything is
// authenticated. werift 0.25.2 already drops all of these; this keeps it so. The far end runs in a worker thread (see
// echo-peer.ts) and must still echo on its channel after each packet.
import { createSocket } from "node:dgram";
import { describe, expect, it } from "vitest";
import { echoes, echoPeers } from "./echo-peer.js";

const echoPeer = echoPeers();

/** A STUN header (RFC 8489 §5: type, length, magic cookie, transaction id) followed by `body` as given. */
const stun = (type: number, length: number, body: number[] = []) => {
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(length, 2);
  header.writeUInt32BE(0x2112a442, 4);
  return Buffer.concat([header, Buffer.from(body)]);
};

const JUNK: Array<[string, Buffer]> = [
  ["one byte", Buffer.from([0])],
  ["a STUN request whose length promises a body that is not there", stun(0x0001, 8)],
  ["a STUN attribute longer than the message", stun(0x0001, 8, [0x00, 0x06, 0xff, 0xff, 1, 2, 3, 4])],
  ["a STUN attribute of length 0", stun(0x0001, 4, [0x00, 0x06, 0x00, 0x00])],
  [
    "a USERNAME that is not UTF-8 and an empty MESSAGE-INTEGRITY",
    stun(0x0001, 12, [0, 6, 0, 2, 0xff, 0xfe, 0, 0, 0, 8, 0, 0]),
  ],
  ["a STUN success response nobody asked for", stun(0x0101, 8, [0x00, 0x20, 0x00, 0x04, 1, 2, 3, 4])],
  ["a DTLS handshake header with nothing after it", Buffer.from([22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1])],
  [
    "a DTLS application record of junk",
    Buffer.concat([Buffer.from([23, 254, 253, 0, 1, 0, 0, 0, 0, 0, 5, 0, 40]), Buffer.alloc(40, 7)]),
  ],
  [
    "an RTP packet that is not SRTP",
    Buffer.concat([Buffer.from([0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]), Buffer.alloc(30, 1)]),
  ],
  ["an RTCP header whose length runs past the end", Buffer.from([0x80, 200, 0xff, 0xff, 1, 2, 3, 4])],
  ["a 3-byte RTP runt", Buffer.from([0x80, 96, 0])],
];

describe("junk UDP from a stranger", () => {
  it("is dropped: the far end stays up and keeps echoing on its channel", async () => {
    const { pc, channel, state } = await echoPeer("import");
    // The far end's host candidate, from its answer: where a stranger's packets would arrive.
    const port = Number(pc.remoteDescription!.sdp.match(/a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+)/)?.[1]);
    expect(port).toBeGreaterThan(0);
    const stranger = createSocket("udp4");
    try {
      for (const [what, bytes] of JUNK) {
        await new Promise((resolve) => stranger.send(bytes, port, "127.0.0.1", resolve));
        expect(await echoes(channel, state, `after ${what}`), what).toBe(`echo after ${what}`);
      }
    } finally {
      stranger.close();
    }
  });
});
