// Patch 31: the SCTP association comes up whichever ICE roles the two ends hold when SCTP starts. werift made the
// ICE-controlling end the one that sends INIT and the controlled end the one that answers, each deciding when its own
// SCTP started; an ICE restart renegotiates the ICE role, so one crossing a new connection's DTLS handshake could leave
// both ends controlled (two ends waiting for an INIT) or both controlling (two ends ignoring each other's INIT), and
// the connection's data channels never opened — in the renewal storm test a pair was silent for 17 s. The stream ids
// each end picks now follow the DTLS role (RFC 8832), which two connected ends never share.
//
// Here one end takes the other's ICE role just before its SCTP starts — as a restart offer crossing the DTLS handshake
// makes it — so both associations start in the same role (a role conflict in later checks sorts the ICE roles out,
// not the SCTP ones).
import type { RTCPeerConnection } from "@parley/werift";
import { expect, it } from "vitest";
import { connected, echoes, loopbackPeers, nextChannel, opened, reply } from "./loopback.js";

const newPeer = loopbackPeers();

const agent = (pc: RTCPeerConnection) => pc.dtlsTransports[0]!.iceTransport.connection;

for (const controlling of [false, true]) {
  it(`both ends ICE-${controlling ? "controlling" : "controlled"} when SCTP starts: channels from both ends open, on stream ids of different parity`, async () => {
    const a = newPeer();
    const b = newPeer();
    const fromA = a.createDataChannel("from-a");
    const atB = nextChannel(b);
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription(await b.createAnswer());
    // a controls (it offered), b is controlled: one of them takes the other's ICE role just before its SCTP starts.
    const [taker, role] = controlling ? [b, true] : [a, false];
    const sctp = taker.sctpTransport!;
    const start = sctp.start.bind(sctp);
    sctp.start = (port) => {
      agent(taker).switchRole(role); // as a role conflict does; the setter refuses once a pair is nominated
      return start(port);
    };
    await a.setRemoteDescription(b.localDescription!);
    await Promise.all([connected(a), connected(b)]);
    // What this test is about: both associations started in the same role (the ICE roles may already be sorted out
    // again by a role conflict in the last checks).
    expect([a.sctpTransport!.sctp.isServer, b.sctpTransport!.sctp.isServer]).toEqual([!controlling, !controlling]);
    await opened(fromA);
    echoes(await atB);
    expect(await reply(fromA, "hello")).toBe("echo hello");

    const fromB = b.createDataChannel("from-b");
    const atA = nextChannel(a);
    await opened(fromB);
    echoes(await atA);
    expect(await reply(fromB, "hi")).toBe("echo hi");
    expect(fromA.id! % 2).not.toBe(fromB.id! % 2);
  });
}
