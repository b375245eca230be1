// A keyframe request (RTCP PLI) must reach the sender of the media it names. Between two werift peers that both send,
// werift's receiver signs its PLI with its transceiver's sender SSRC, which the far end has registered as a receiver;
// werift routed payload-specific feedback by that SSRC first, so the PLI went to a receiver and was lost: a relay
// built of werift hops (WHIP in, WHEP out) never got a keyframe. Patch 14 routes it by the media SSRC first.
import { MediaStreamTrack, type RTCPeerConnection, RtpHeader, RtpPacket } from "@parley/werift";
import { describe, expect, it } from "vitest";
import { loopbackPeers } from "./loopback.js";

const newPeer = loopbackPeers();

async function connectedPair(): Promise<[RTCPeerConnection, RTCPeerConnection]> {
  const a = newPeer();
  const b = newPeer();
  a.onicecandidate = ({ candidate }) => candidate && void b.addIceCandidate(candidate);
  b.onicecandidate = ({ candidate }) => candidate && void a.addIceCandidate(candidate);
  return [a, b];
}

function vp8Packet(sequenceNumber: number): RtpPacket {
  // A VP8 payload descriptor (S bit, partition 0) and a keyframe-looking first byte; content is not decoded here.
  return new RtpPacket(
    new RtpHeader({ payloadType: 96, sequenceNumber, timestamp: sequenceNumber * 3000, marker: true }),
    Buffer.from([0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a]),
  );
}

describe("RTCP PLI routing (patch 14)", () => {
  it("reaches the sender of the named media when both ends send video", async () => {
    const [a, b] = await connectedPair();
    const fromA = new MediaStreamTrack({ kind: "video" });
    const fromB = new MediaStreamTrack({ kind: "video" });
    const senderA = a.addTransceiver(fromA, { direction: "sendrecv" }).sender;
    const received = new Promise<MediaStreamTrack>((resolve) => {
      b.ontrack = ({ track }) => resolve(track);
    });
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription!);
    // B answers on A's transceiver, sending too (as a room member with a camera does).
    const atB = b.getTransceivers()[0]!;
    await atB.sender.replaceTrack(fromB);
    atB.setDirection("sendrecv");
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription!);
    await new Promise<void>((resolve) =>
      a.connectionStateChange.subscribe((state) => state === "connected" && resolve()),
    );
    // Both directions carry RTP, so each end knows the other's SSRC.
    let seq = 0;
    const pump = setInterval(() => {
      seq++;
      fromA.writeRtp(vp8Packet(seq));
      fromB.writeRtp(vp8Packet(seq));
    }, 20);
    try {
      const track = await received;
      await new Promise<void>((resolve) => {
        const sub = track.onReceiveRtp.subscribe(() => {
          sub.unSubscribe();
          resolve();
        });
      });
      let plis = 0;
      senderA.onPictureLossIndication.subscribe(() => plis++);
      const receiverB = atB.receiver;
      for (let i = 0; i < 5; i++) await receiverB.sendRtcpPLI(track.ssrc!);
      await expect.poll(() => plis, { timeout: 5000 }).toBe(5);
    } finally {
      clearInterval(pump);
    }
  });
});
