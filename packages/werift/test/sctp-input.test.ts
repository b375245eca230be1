// Patch 20: what a room member sends over SCTP cannot crash or hang the far end. Any member of a call can put
// arbitrary bytes inside the DTLS connection it shares with a bot; werift parsed them with throws that nothing caught
// (Node ends a process on an unhandled rejection) and a chunk of length 0 looped for ever. RFC 9260 says what to do
// with each: a packet that is too short, fails its checksum, has a malformed chunk or bundles an INIT is discarded
// (§6.8, §8.5.1); an unknown chunk type is skipped or ends the packet by its two high bits (§3.2). A data
// channel message with an unknown payload protocol, or a DCEP ACK for a stream with no channel, is dropped.
//
// The far end runs in a worker thread, so a hang or a crash there fails this test instead of the test run; after
// every hostile packet it must still echo a message on the same channel.
import { crc32c, type RTCPeerConnection } from "@parley/werift";
import { describe, expect, it } from "vitest";
import { echoes, echoPeers } from "./echo-peer.js";

const echoPeer = echoPeers();

/** An SCTP packet to the far end's association (ports 5000, its verification tag) with a correct checksum. */
function packet(pc: RTCPeerConnection, chunks: Buffer, tag = pc.sctpTransport!.sctp.remoteVerificationTag): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(5000, 0);
  header.writeUInt16BE(5000, 2);
  header.writeUInt32BE(tag, 4);
  const bytes = Buffer.concat([header, chunks]);
  bytes.writeUInt32LE(crc32c(bytes), 8);
  return bytes;
}

/** A chunk header (type, flags, declared length) followed by `body` as given, whatever the length says. */
const chunk = (type: number, length: number, body: Buffer = Buffer.alloc(0)) => {
  const head = Buffer.alloc(4);
  head.writeUInt8(type, 0);
  head.writeUInt16BE(length, 2);
  const padded = Buffer.concat([head, body]);
  return Buffer.concat([padded, Buffer.alloc((4 - (padded.length % 4)) % 4)]);
};

const INIT_BODY = Buffer.alloc(16, 1);
const HOSTILE: Array<[string, (pc: RTCPeerConnection) => Buffer]> = [
  ["a packet shorter than the SCTP common header", () => Buffer.from([0, 1, 2, 3, 4])],
  [
    "a packet with a wrong checksum",
    (pc) => {
      const bytes = packet(pc, chunk(11, 4));
      bytes.writeUInt32LE(0xdeadbeef, 8);
      return bytes;
    },
  ],
  ["a chunk whose length is 0", (pc) => packet(pc, chunk(11, 0))],
  ["a chunk whose length is 2 (less than its own header)", (pc) => packet(pc, chunk(11, 2))],
  ["a DATA chunk longer than the packet", (pc) => packet(pc, chunk(0, 400, Buffer.alloc(16)))],
  ["a DATA chunk too short for its header", (pc) => packet(pc, chunk(0, 8, Buffer.alloc(4)))],
  ["a SACK chunk with no body", (pc) => packet(pc, chunk(3, 4))],
  [
    "an unknown chunk type whose high bits say 'discard the packet'",
    (pc) => packet(pc, chunk(0x3f, 8, Buffer.alloc(4))),
  ],
  ["an unknown chunk type whose high bits say 'skip it'", (pc) => packet(pc, chunk(0xbf, 8, Buffer.alloc(4)))],
  ["an INIT bundled with another chunk", (pc) => packet(pc, Buffer.concat([chunk(1, 20, INIT_BODY), chunk(11, 4)]), 0)],
  ["a packet with no chunk at all", (pc) => packet(pc, Buffer.alloc(0))],
];

describe.each(["import", "require"] as const)(
  "hostile SCTP input (patch 20), far end on werift's %s build",
  (build) => {
    it("every malformed packet is dropped; the far end stays up and keeps echoing on the same channel", async () => {
      const { pc, channel, state } = await echoPeer(build);
      expect(await echoes(channel, state, "before")).toBe("echo before");
      const dtls = pc.sctpTransport!.dtlsTransport;
      for (const [what, make] of HOSTILE) {
        await dtls.sendData(make(pc));
        expect(await echoes(channel, state, `after ${what}`), what).toBe(`echo after ${what}`);
      }
    });

    it("a message with an unknown payload protocol and a DCEP ACK for a stream with no channel are dropped", async () => {
      const { pc, channel, state } = await echoPeer(build);
      const sctp = pc.sctpTransport!.sctp;
      // 12345 is no WebRTC payload protocol identifier (RFC 8831 §8); stream 77 has no channel; 50 is DCEP, 2 its ACK.
      await sctp.send(channel.id!, 12345, Buffer.from("?"));
      expect(await echoes(channel, state, "after an unknown protocol")).toBe("echo after an unknown protocol");
      await sctp.send(77, 50, Buffer.from([2]));
      expect(await echoes(channel, state, "after a stray ACK")).toBe("echo after a stray ACK");
    });
  },
);
