// Patch 24: every ICE and TURN socket asks the kernel for a 1 MiB receive buffer (Linux grants twice that, capped by
// net.core.rmem_max). Packets that arrive while the process is busy wait in that buffer; with Linux's default
// (~90 full-size packets) a recorder of 50 members lost media in the kernel at every pause, and the repairs it then
// asked for (NACK, PLI) made the next pause longer until most recordings were empty. What a user relies on: a burst
// that arrives while the event loop is blocked — a GC pause, a second of other work, fifty keyframes at once — is
// all there when the loop comes back.
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as esm from "@parley/werift";
import { MediaStreamTrack, RtpHeader, RtpPacket } from "@parley/werift";
import { describe, expect, it } from "vitest";
import { connected, loopbackPeers, offerAnswer } from "./loopback.js";

const cjs = createRequire(import.meta.url)("@parley/werift") as typeof esm;
const newPeer = loopbackPeers();

/** What the kernel grants for the patch's 1 MiB request: twice the request, capped at twice net.core.rmem_max. */
const GRANTED = Math.min(2 * 1024 * 1024, 2 * Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8")));
/** Linux charges a ~1.2 kB datagram about 2.3 kB of buffer. Well inside what is granted, well past the default. */
const BURST = Math.max(150, Math.floor((GRANTED * 0.6) / 2400));
const PAYLOAD = 1100;

/** Blocks the event loop while `send` runs: everything sent is in the kernel before anything can be read. */
async function burst(send: (i: number) => void, received: () => number): Promise<number> {
  for (let i = 0; i < BURST; i++) send(i);
  const until = Date.now() + 200;
  while (Date.now() < until) {
    // The receiver is busy: nothing is read yet (loopback delivers each datagram during its send call).
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  return received();
}

describe("UDP receive buffers (patch 24)", () => {
  it.each([
    ["ESM", esm],
    ["CommonJS", cjs],
  ])("a %s UdpTransport keeps a burst that arrives while the loop is blocked", async (_build, werift) => {
    const transport = await werift.UdpTransport.init("udp4", { interfaceAddresses: { udp4: "127.0.0.1" } });
    try {
      expect(transport.socket.getRecvBufferSize()).toBe(GRANTED);
      let got = 0;
      transport.onData = () => got++;
      const sender = createSocket("udp4");
      const datagram = Buffer.alloc(PAYLOAD + 40);
      try {
        expect(
          await burst(
            () => sender.send(datagram, transport.port, "127.0.0.1"),
            () => got,
          ),
        ).toBe(BURST);
      } finally {
        sender.close();
      }
    } finally {
      await transport.close();
    }
  });

  it("a connection receives every packet of an RTP burst sent while its process was busy", async () => {
    const [a, b] = [newPeer(), newPeer()];
    a.onicecandidate = ({ candidate }) => candidate && void b.addIceCandidate(candidate);
    b.onicecandidate = ({ candidate }) => candidate && void a.addIceCandidate(candidate);
    const track = new MediaStreamTrack({ kind: "audio" });
    a.addTransceiver(track, { direction: "sendonly" });
    const sequenceNumbers = new Set<number>();
    b.ontrack = ({ track: received }) => {
      received.onReceiveRtp.subscribe((rtp) => sequenceNumbers.add(rtp.header.sequenceNumber));
    };
    await offerAnswer(a, b);
    await Promise.all([a, b].map(connected));
    const packet = (i: number) =>
      new RtpPacket(
        new RtpHeader({ payloadType: 111, sequenceNumber: i, timestamp: i * 960, marker: true }),
        Buffer.alloc(PAYLOAD, i),
      );
    // werift's send path ends in the socket within microtasks; the busy wait then keeps b from reading any of it.
    const sent = burst(
      (i) => track.writeRtp(packet(i)),
      () => sequenceNumbers.size,
    );
    expect(await sent).toBe(BURST);
  });
});
