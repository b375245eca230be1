// Patch 25 reads bit fields of a byte with arithmetic (werift built an array of binary digits per call, for every
// RTP and RTCP header and VP8 payload descriptor). It must answer exactly as werift did — every byte, every field,
// and the odd arguments (out of range, not a byte) still going werift's way, errors included — in both builds, and
// the parsers on top must read real packets the same.
import { createRequire } from "node:module";
import * as esm from "@parley/werift";
import * as nonstandard from "@parley/werift/nonstandard";
import { describe, expect, it } from "vitest";

const cjs = createRequire(import.meta.url)("@parley/werift") as typeof esm;

/** werift 0.25.2's getBit and paddingByte as published: the behaviour the patch keeps. */
function werift(bits: number, startIndex: number, length = 1): number {
  let bin = bits.toString(2).split("");
  bin = [...Array(8 - bin.length).fill("0"), ...bin];
  return Number.parseInt(bin.slice(startIndex, startIndex + length).join(""), 2);
}
const weriftPadding = (bits: number) =>
  [...[...Array(8 - bits.toString(2).length)].map(() => "0"), ...bits.toString(2).split("")].join("");

/** The value, or the name of what was thrown. */
const outcome = (f: () => unknown) => {
  try {
    return f();
  } catch (err) {
    return `throws ${(err as Error).constructor.name}`;
  }
};

const builds = [
  ["ESM", esm.getBit, esm.paddingByte],
  ["ESM nonstandard", nonstandard.getBit, nonstandard.paddingByte],
  ["CommonJS", cjs.getBit, cjs.paddingByte],
] as const;

describe("bit fields (patch 25)", () => {
  it.each(builds)("%s getBit answers as werift did for every byte and field", (_build, getBit) => {
    const differ: string[] = [];
    for (const bits of [...Array(256).keys(), 256, 511, 0.5, -1]) {
      for (let start = -1; start <= 9; start++) {
        for (let length = 0; length <= 9; length++) {
          const got = outcome(() => getBit(bits, start, length));
          const want = outcome(() => werift(bits, start, length));
          if (!Object.is(got, want)) differ.push(`getBit(${bits}, ${start}, ${length}) = ${got}, werift ${want}`);
        }
      }
    }
    expect(differ).toEqual([]);
  });

  it.each(builds)("%s paddingByte answers as werift did", (_build, _getBit, paddingByte) => {
    for (const bits of [...Array(256).keys(), 256, 1000]) {
      expect(outcome(() => paddingByte(bits))).toEqual(outcome(() => weriftPadding(bits)));
    }
  });

  it("reads a VP8 payload descriptor with a 15-bit picture id and an RTP header with an extension", () => {
    // RFC 7741 §4.2: X=1, S=1, PID=0; I=1; M=1, PictureID=0x1234 (15 bits); then the payload header of a key frame.
    const vp8 = nonstandard.Vp8RtpPayload.deSerialize(Buffer.from([0x90, 0x80, 0x80 | 0x12, 0x34, 0x10, 0x02, 0x00]));
    expect([vp8.xBit, vp8.sBit, vp8.pid, vp8.iBit, vp8.mBit, vp8.pictureId]).toEqual([1, 1, 0, 1, 1, 0x1234]);
    expect([vp8.isKeyframe, vp8.size0, vp8.hBit, vp8.ver]).toEqual([true, 0, 1, 0]);
    // RFC 3550 §5.1: V=2, P=0, X=1, CC=0; M=1, PT=96; a one-byte-header extension (RFC 8285) with id 1, one byte.
    const rtp = Buffer.from([0x90, 0xe0, 0, 7, 0, 0, 0, 9, 0, 0, 0, 5, 0xbe, 0xde, 0, 1, 0x10, 0x2a, 0, 0, 0xff]);
    for (const werift of [esm, cjs]) {
      const { header, payload } = werift.RtpPacket.deSerialize(rtp);
      expect([header.version, header.extension, header.marker, header.payloadType]).toEqual([2, true, true, 96]);
      expect([header.sequenceNumber, header.timestamp, header.ssrc]).toEqual([7, 9, 5]);
      expect(header.extensions).toEqual([{ id: 1, payload: Buffer.from([0x2a]) }]);
      expect(payload).toEqual(Buffer.from([0xff]));
    }
  });
});
