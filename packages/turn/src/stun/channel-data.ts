// RFC 8656 §12.4: ChannelData = 2-byte channel number (0x4000-0x4FFF), 2-byte length, data. Over TCP/TLS the message
// is padded to a multiple of 4 bytes (§12.5); over UDP padding is optional and not counted in the length.
export const MIN_CHANNEL = 0x4000;
// RFC 8656 narrowed channels to 0x4000-0x4FFF, but RFC 5766 allowed up to 0x7FFF and coturn (server and
// turnutils_uclient) still uses that range; refusing it would break those clients, and 0x5000-0x7FFF cannot be
// confused with STUN or ChannelData's neighbours on a TURN port (RFC 7983 puts DTLS at 20-63, RTP at 128-191).
export const MAX_CHANNEL = 0x7fff;

export function isChannelData(buf: Buffer): boolean {
  return buf.length >= 4 && (buf[0]! & 0xc0) === 0x40;
}

export function encodeChannelData(channel: number, data: Buffer, padForStream: boolean): Buffer {
  const padded = padForStream ? (data.length + 3) & ~3 : data.length;
  const out = Buffer.allocUnsafe(4 + padded);
  out.writeUInt16BE(channel, 0);
  out.writeUInt16BE(data.length, 2);
  data.copy(out, 4);
  out.fill(0, 4 + data.length);
  return out;
}
