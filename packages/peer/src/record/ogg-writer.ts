import { type FileHandle, open } from "node:fs/promises";
import type { MediaStreamTrack } from "@parley/werift";
import { opusPacketSamples } from "../media/opus-packet.js";

/** CRC-32 of Ogg pages (RFC 3533 §6): polynomial 0x04c11db7, not reflected, initial 0, no final xor. */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

function oggCrc(page: Buffer): number {
  let crc = 0;
  for (const byte of page) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  return crc;
}

const PACKETS_PER_PAGE = 25; // half a second of 20 ms packets: what a killed process can lose at most

/**
 * Ogg/Opus (RFC 7845) from a received Opus track: each RTP payload is one Opus packet. Pages are written every half
 * second, so a process killed mid-recording leaves a file that plays up to its last page.
 */
export class OggOpusWriter {
  private readonly serial = (Math.random() * 0xffffffff) >>> 0;
  private pageSequence = 0;
  private granule = 0n;
  private packets: Buffer[] = [];
  private lastSeq: number | undefined;
  private writes: Promise<unknown> = Promise.resolve();
  private readonly unsubscribe: () => void;

  private constructor(
    private readonly file: FileHandle,
    track: MediaStreamTrack,
  ) {
    const channels = track.codec?.channels ?? 2;
    const head = Buffer.alloc(19);
    head.write("OpusHead", 0);
    head[8] = 1; // version
    head[9] = channels;
    head.writeUInt16LE(312, 10); // pre-skip: libopus's usual encoder delay
    head.writeUInt32LE(48000, 12); // input sample rate (informational)
    head.writeInt16LE(0, 16); // output gain
    head[18] = 0; // channel mapping family 0: mono or stereo
    const vendor = Buffer.from("parley");
    const tags = Buffer.alloc(8 + 4 + vendor.length + 4);
    tags.write("OpusTags", 0);
    tags.writeUInt32LE(vendor.length, 8);
    vendor.copy(tags, 12);
    tags.writeUInt32LE(0, 12 + vendor.length);
    this.writePage([head], 0x02, 0n);
    this.writePage([tags], 0, 0n);
    const sub = track.onReceiveRtp.subscribe((rtp) => {
      const seq = rtp.header.sequenceNumber;
      // Drop duplicates and late packets (a jitter buffer would reorder; for audio a gap is better than a stall).
      if (this.lastSeq !== undefined && ((seq - this.lastSeq) & 0xffff) > 0x8000) return;
      if (seq === this.lastSeq) return;
      this.lastSeq = seq;
      if (rtp.payload.length === 0) return;
      this.packets.push(Buffer.from(rtp.payload));
      this.granule += BigInt(opusPacketSamples(rtp.payload) ?? 0);
      if (this.packets.length >= PACKETS_PER_PAGE) this.flush(0);
    });
    this.unsubscribe = () => sub.unSubscribe();
  }

  static async open(path: string, track: MediaStreamTrack): Promise<OggOpusWriter> {
    return new OggOpusWriter(await open(path, "w"), track);
  }

  /** Writes the last page (end of stream) and closes the file. */
  async stop(): Promise<void> {
    this.unsubscribe();
    this.flush(0x04);
    await this.writes;
    await this.file.close();
  }

  private flush(flags: number): void {
    const packets = this.packets;
    this.packets = [];
    if (packets.length === 0 && flags !== 0x04) return;
    this.writePage(packets, flags, this.granule);
  }

  private writePage(packets: Buffer[], flags: number, granule: bigint): void {
    const lacing: number[] = [];
    for (const p of packets) {
      for (let left = p.length; ; left -= 255) {
        lacing.push(Math.min(left, 255));
        if (left < 255) break;
      }
    }
    const header = Buffer.alloc(27 + lacing.length);
    header.write("OggS", 0);
    header[4] = 0;
    header[5] = flags;
    header.writeBigInt64LE(granule, 6);
    header.writeUInt32LE(this.serial, 14);
    header.writeUInt32LE(this.pageSequence++, 18);
    header[26] = lacing.length;
    Buffer.from(lacing).copy(header, 27);
    const page = Buffer.concat([header, ...packets]);
    page.writeUInt32LE(oggCrc(page), 22);
    this.writes = this.writes.then(() => this.file.write(page));
  }
}
