import { RtpHeader, RtpPacket } from "@parley/werift";

/** Largest VP8 payload per packet: with RTP, SRTP and UDP/IP headers a packet stays well under a 1500-byte MTU. */
const MAX_PAYLOAD = 1200;
/** VP8 payload descriptor (RFC 7741 §4.2) with a 15-bit PictureID: X, S on a frame's first packet, I, M. */
const DESCRIPTOR_BYTES = 4;

/**
 * Splits VP8 frames into RTP packets (RFC 7741): a 4-byte payload descriptor carrying a 15-bit PictureID (browsers
 * use it to spot lost frames), S set on each frame's first packet, the marker bit on its last. SSRC and payload type
 * are placeholders the sender rewrites.
 */
export class Vp8Packetizer {
  private sequence = Math.floor(Math.random() * 0x10000);
  private pictureId = Math.floor(Math.random() * 0x8000);

  packetize(frame: Uint8Array, timestamp: number): RtpPacket[] {
    const packets: RtpPacket[] = [];
    const room = MAX_PAYLOAD - DESCRIPTOR_BYTES;
    const count = Math.max(1, Math.ceil(frame.length / room));
    for (let i = 0; i < count; i++) {
      const chunk = frame.subarray(i * room, (i + 1) * room);
      const payload = Buffer.alloc(DESCRIPTOR_BYTES + chunk.length);
      payload[0] = 0x80 | (i === 0 ? 0x10 : 0); // X, S; partition index 0
      payload[1] = 0x80; // I: PictureID present
      payload.writeUInt16BE(0x8000 | this.pictureId, 2); // M: 15-bit PictureID
      payload.set(chunk, DESCRIPTOR_BYTES);
      const header = new RtpHeader({
        payloadType: 96,
        sequenceNumber: this.sequence,
        timestamp,
        ssrc: 1,
        marker: i === count - 1,
      });
      packets.push(new RtpPacket(header, payload));
      this.sequence = (this.sequence + 1) & 0xffff;
    }
    this.pictureId = (this.pictureId + 1) & 0x7fff;
    return packets;
  }
}
