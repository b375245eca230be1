// Patch 30: a lost SCTP handshake chunk costs 1 s, not 3. werift timed INIT and COOKIE-ECHO retransmissions — and
// DATA before any round trip was measured, such as a channel's first OPEN — with RFC 4960's RTO.Initial of 3 s; RFC
// 9260 section 16 (which obsoletes 4960) recommends 1 s, libwebrtc retransmits its INIT after 1 s. Each further loss
// doubles the wait (as Linux and libwebrtc do), so a path that is down for a while is not flooded and the association
// is not given up within seconds.
//
// The loss is made where a network would make it: the DTLS application-data records (SCTP) the ends put on their ICE
// connections are dropped for a while.
import type { RTCPeerConnection } from "@parley/werift";
import { expect, it } from "vitest";
import { echoes, loopbackPeers, nextChannel, opened, reply } from "./loopback.js";

const newPeer = loopbackPeers();
const APPLICATION_DATA = 23; // DTLS record content type
const LOSS_MS = 2500;

it("a lost INIT is sent again 1 s later, then 2 s after that, and the channel opens", async () => {
  const a = newPeer();
  const b = newPeer();
  const atA = a.createDataChannel("chat");
  const atB = nextChannel(b);
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription(await b.createAnswer());
  // Every application-data record (SCTP) each end sends, with its time; all are lost for the first 2.5 s after the
  // first one — the end that starts the association sends its INIT then, 1 s later and 3 s later; the other end, having
  // no INIT, sends its own after 1 s (patch 31), also lost.
  const sent = new Map<RTCPeerConnection, number[]>([
    [a, []],
    [b, []],
  ]);
  let lossUntil = Number.POSITIVE_INFINITY;
  for (const pc of [a, b]) {
    const connection = pc.dtlsTransports[0]!.iceTransport.connection;
    const send = connection.send;
    connection.send = async (data: Buffer) => {
      if (data[0] !== APPLICATION_DATA) return send(data);
      const now = Date.now();
      if (lossUntil === Number.POSITIVE_INFINITY) lossUntil = now + LOSS_MS;
      sent.get(pc)!.push(now);
      if (now < lossUntil) return;
      return send(data);
    };
  }
  await a.setRemoteDescription(b.localDescription!);
  echoes(await atB);
  await opened(atA);
  expect(await reply(atA, "hello")).toBe("echo hello");

  const initiator = [...sent.values()].find((times) => times[0] === lossUntil - LOSS_MS)!;
  const [first, second, third] = initiator;
  // Timers fire late on a busy machine, never early; before the patch both waits were 3 s.
  expect(second! - first!).toBeGreaterThanOrEqual(950);
  expect(second! - first!).toBeLessThan(2000);
  expect(third! - second!).toBeGreaterThanOrEqual(1500); // (the other end's INIT, answered, may come a little sooner)
  expect(third! - second!).toBeLessThan(2900);
});
