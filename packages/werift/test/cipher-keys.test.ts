// Patch 19: SRTP, SRTCP and DTLS record keys are held as KeyObjects. Node 24 checks a Buffer key's type on every
// createCipheriv/createHmac call (~13 µs, against ~3.5 µs with a KeyObject; Node 20 and 22 cost the same either way),
// and werift makes one cipher per packet: on Node 24 a recorder of 50 streams spent a fifth of its busy time there.
// The speed is measured by the benchmarks (README); these tests check that the keys are KeyObjects and that what
// is protected with them still round-trips, and that tampering is still caught.
import { KeyObject, randomBytes } from "node:crypto";
import {
  MediaStreamTrack,
  ProtectionProfileAeadAes128Gcm,
  ProtectionProfileAes128CmHmacSha1_80,
  type RTCPeerConnection,
  RtcpPacketConverter,
  RtcpSenderInfo,
  RtcpSrPacket,
  RtpHeader,
  RtpPacket,
  SrtcpSession,
  SrtpSession,
} from "@parley/werift";
import { describe, expect, it } from "vitest";
import { loopbackPeers } from "./loopback.js";

const newPeer = loopbackPeers();

/** Two ends of one SRTP association: what one protects with its local keys, the other opens with its remote keys. */
function sessionPair(profile: number, Session: typeof SrtpSession | typeof SrtcpSession) {
  const [keyA, saltA, keyB, saltB] = [randomBytes(16), randomBytes(14), randomBytes(16), randomBytes(14)];
  const at = (localMasterKey: Buffer, localMasterSalt: Buffer, remoteMasterKey: Buffer, remoteMasterSalt: Buffer) =>
    new Session({ profile, keys: { localMasterKey, localMasterSalt, remoteMasterKey, remoteMasterSalt } });
  return [at(keyA, saltA, keyB, saltB), at(keyB, saltB, keyA, saltA)] as const;
}

const PROFILES = [
  ["AES_CM_128_HMAC_SHA1_80", ProtectionProfileAes128CmHmacSha1_80],
  ["AEAD_AES_128_GCM", ProtectionProfileAeadAes128Gcm],
] as const;

describe("SRTP and DTLS keys as KeyObjects (patch 19)", () => {
  for (const [name, profile] of PROFILES) {
    it(`${name}: RTP and RTCP round-trip, a changed byte is refused, the keys are KeyObjects`, () => {
      const [a, b] = sessionPair(profile, SrtpSession);
      const payload = randomBytes(900);
      const header = new RtpHeader({ payloadType: 96, sequenceNumber: 4242, timestamp: 90_000, ssrc: 0x1234 });
      const packet = new RtpPacket(header, payload).serialize();
      const protectedPacket = a.encrypt(payload, header);
      expect(protectedPacket.equals(packet)).toBe(false);
      expect(b.decrypt(protectedPacket).equals(packet)).toBe(true);
      const next = new RtpHeader({ payloadType: 96, sequenceNumber: 4243, timestamp: 93_000, ssrc: 0x1234 });
      const tampered = a.encrypt(payload, next);
      tampered[tampered.length - 20]! ^= 1;
      expect(() => b.decrypt(tampered)).toThrow();

      const [x, y] = sessionPair(profile, SrtcpSession);
      const senderInfo = new RtcpSenderInfo({
        ntpTimestamp: 1n << 40n,
        rtpTimestamp: 90_000,
        packetCount: 1,
        octetCount: 900,
      });
      const report = new RtcpSrPacket({ ssrc: 0x1234, senderInfo }).serialize();
      expect(y.decrypt(x.encrypt(report)).equals(report)).toBe(true);
      expect(RtcpPacketConverter.deSerialize(y.decrypt(x.encrypt(report)))[0]).toBeInstanceOf(RtcpSrPacket);

      const cipher = a.localContext.cipher as unknown as Record<string, unknown>;
      expect(cipher.srtpSessionKey).toBeInstanceOf(KeyObject);
      expect(cipher.srtcpSessionKey).toBeInstanceOf(KeyObject);
      if (profile === ProtectionProfileAes128CmHmacSha1_80) {
        expect(cipher.srtpSessionAuthTag).toBeInstanceOf(KeyObject);
        expect(cipher.srtcpSessionAuthTag).toBeInstanceOf(KeyObject);
      }
    });
  }

  it("a connected pair: media and data flow, and the DTLS record keys are KeyObjects", async () => {
    const a = newPeer();
    const b = newPeer();
    a.onicecandidate = ({ candidate }) => candidate && void b.addIceCandidate(candidate);
    b.onicecandidate = ({ candidate }) => candidate && void a.addIceCandidate(candidate);
    const track = new MediaStreamTrack({ kind: "audio" });
    a.addTransceiver(track, { direction: "sendonly" });
    const channel = a.createDataChannel("x");
    const received = new Promise<MediaStreamTrack>((resolve) => {
      b.ontrack = ({ track: remote }) => resolve(remote);
    });
    const message = new Promise<string>((resolve) => {
      b.ondatachannel = ({ channel: remote }) => {
        remote.onMessage.subscribe((data) => resolve(data.toString()));
      };
    });
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription!);
    await new Promise<void>((resolve) => {
      if (channel.readyState === "open") resolve();
      else channel.stateChanged.subscribe((state) => state === "open" && resolve());
    });
    channel.send("over DTLS");
    expect(await message).toBe("over DTLS");
    const remote = await received;
    const rtp = new Promise<RtpPacket>((resolve) => remote.onReceiveRtp.subscribe(resolve));
    const payload = Buffer.from("opus frame");
    const pump = setInterval(() => {
      track.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 111, sequenceNumber: 1, timestamp: 960 }), payload));
    }, 20);
    try {
      expect((await rtp).payload.equals(payload)).toBe(true);
    } finally {
      clearInterval(pump);
    }
    for (const pc of [a, b] as RTCPeerConnection[]) {
      const record = (pc.dtlsTransports[0] as unknown as { dtls: { cipher: { cipher: Record<string, unknown> } } }).dtls
        .cipher.cipher;
      expect(record.clientWriteKey).toBeInstanceOf(KeyObject);
      expect(record.serverWriteKey).toBeInstanceOf(KeyObject);
    }
  });
});
