/**
 * The picture size a keyframe carries, so a recording's header states the true size (werift's recorder writes
 * whatever it is configured with). VP8 (RFC 6386 §9.1) and VP9 (VP9 bitstream spec §6.2, uncompressed header);
 * other codecs return undefined and the recorder falls back to its configured size.
 */
export function keyframeSize(codec: string, frame: Buffer): { width: number; height: number } | undefined {
  const name = codec.toLowerCase();
  if (name.endsWith("vp8")) return vp8(frame);
  if (name.endsWith("vp9")) return vp9(frame);
  return undefined;
}

function vp8(frame: Buffer): { width: number; height: number } | undefined {
  // 3-byte frame tag (bit 0 clear = keyframe), then start code 9d 01 2a, then 14-bit width and height (+2 scale bits).
  if (frame.length < 10 || (frame[0]! & 1) !== 0) return undefined;
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return undefined;
  return { width: frame.readUInt16LE(6) & 0x3fff, height: frame.readUInt16LE(8) & 0x3fff };
}

function vp9(frame: Buffer): { width: number; height: number } | undefined {
  let bit = 0;
  const read = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++, bit++) {
      const byte = frame[bit >> 3];
      if (byte === undefined) throw new RangeError("truncated");
      v = (v << 1) | ((byte >> (7 - (bit & 7))) & 1);
    }
    return v;
  };
  try {
    if (read(2) !== 2) return undefined; // frame_marker
    const profile = read(1) | (read(1) << 1);
    if (profile === 3) read(1); // reserved_zero
    if (read(1)) return undefined; // show_existing_frame
    if (read(1) !== 0) return undefined; // frame_type: 0 = KEY_FRAME
    read(2); // show_frame, error_resilient_mode
    if (read(8) !== 0x49 || read(8) !== 0x83 || read(8) !== 0x42) return undefined; // sync code
    // color_config
    if (profile >= 2) read(1); // ten_or_twelve_bit
    const colorSpace = read(3);
    if (colorSpace !== 7) {
      read(1); // color_range
      if (profile === 1 || profile === 3) read(3); // subsampling_x, subsampling_y, reserved_zero
    } else if (profile === 1 || profile === 3) {
      read(1); // reserved_zero
    }
    return { width: read(16) + 1, height: read(16) + 1 };
  } catch {
    return undefined;
  }
}
