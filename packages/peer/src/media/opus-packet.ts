/** Opus RTP timestamps always count at 48 kHz, whatever the rate inside (RFC 7587 §4.1). */
export const OPUS_RTP_RATE = 48_000;

/** Milliseconds of one Opus frame by TOC configuration (RFC 6716 §3.1): SILK, hybrid, CELT. */
function frameMs(config: number): number {
  if (config < 12) return [10, 20, 40, 60][config % 4]!;
  if (config < 16) return [10, 20][config % 2]!;
  return [2.5, 5, 10, 20][config % 4]!;
}

/**
 * Duration of an Opus packet in 48 kHz samples, from its TOC byte and frame count (RFC 6716 §3.1–3.2), or undefined
 * when the packet is malformed: a damaged packet still tells how much time it stood for.
 */
export function opusPacketSamples(packet: Uint8Array): number | undefined {
  if (packet.length === 0) return undefined;
  const toc = packet[0]!;
  const code = toc & 3;
  let frames = code === 0 ? 1 : code === 3 ? (packet[1] ?? 0) & 0x3f : 2;
  if (code === 3 && packet.length < 2) frames = 0;
  const samples = (frameMs(toc >> 3) * OPUS_RTP_RATE * frames) / 1000;
  // RFC 6716 §3.2.5: at most 120 ms in one packet.
  return frames > 0 && samples <= 5760 ? samples : undefined;
}

/** Whether the packet's TOC says stereo (RFC 6716 §3.1, the s bit). */
export function opusIsStereo(packet: Uint8Array): boolean {
  return packet.length > 0 && ((packet[0]! >> 2) & 1) === 1;
}
