import { open } from "node:fs/promises";

const SEGMENT_ID = Buffer.from([0x18, 0x53, 0x80, 0x67]);

/**
 * werift's WebM writer streams Clusters of unknown size and, when it stops, gives the Segment its final size. A
 * finite Segment holding unknown-sized Clusters is invalid Matroska (ffmpeg: "Unknown-sized element inside parent
 * with finite size"). Marking the Segment unknown-sized again (all value bits set, same length, RFC 8794 §6.2) makes
 * the file valid; the Duration element werift wrote stays.
 */
export async function markSegmentUnknownSize(path: string): Promise<void> {
  const file = await open(path, "r+");
  try {
    const head = Buffer.alloc(128);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    const at = head.subarray(0, bytesRead).indexOf(SEGMENT_ID);
    if (at < 0) return;
    const first = head[at + 4];
    if (first === undefined || first === 0) return;
    const length = Math.clz32(first) - 23; // EBML vint length: leading zero bits of the first byte, plus one
    const unknown = Buffer.alloc(length, 0xff);
    unknown[0] = 0xff >> length; // the length marker bit, then all ones
    unknown[0] |= 1 << (8 - length);
    await file.write(unknown, 0, length, at + 4);
  } finally {
    await file.close();
  }
}
