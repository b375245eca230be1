import { describe, expect, it } from "vitest";
import { opusPacketSamples } from "../src/media/opus-packet.js";
import { keyframeSize } from "../src/record/frame-size.js";

/** A VP8 keyframe header (RFC 6386 §9.1): frame tag, start code, 14-bit width and height. */
function vp8Keyframe(width: number, height: number): Buffer {
  const b = Buffer.alloc(16);
  b[0] = 0x10; // bit 0 clear: keyframe; show_frame set
  b.set([0x9d, 0x01, 0x2a], 3);
  b.writeUInt16LE(width, 6);
  b.writeUInt16LE(height, 8);
  return b;
}

/** A VP9 profile-0 keyframe's uncompressed header up to frame_height_minus_1 (VP9 spec §6.2). */
function vp9Keyframe(width: number, height: number): Buffer {
  const bits: number[] = [];
  const put = (value: number, n: number) => {
    for (let i = n - 1; i >= 0; i--) bits.push((value >> i) & 1);
  };
  put(2, 2); // frame_marker
  put(0, 2); // profile 0 (low bit, high bit)
  put(0, 1); // show_existing_frame
  put(0, 1); // frame_type: key
  put(1, 1); // show_frame
  put(0, 1); // error_resilient_mode
  put(0x49, 8);
  put(0x83, 8);
  put(0x42, 8);
  put(1, 3); // color_space BT.601
  put(0, 1); // color_range
  put(width - 1, 16);
  put(height - 1, 16);
  const out = Buffer.alloc(Math.ceil(bits.length / 8) + 2);
  bits.forEach((bit, i) => {
    out[i >> 3]! |= bit << (7 - (i & 7));
  });
  return out;
}

describe("keyframeSize", () => {
  const rows: Array<[string, string, Buffer, { width: number; height: number } | undefined]> = [
    ["a VP8 keyframe", "video/VP8", vp8Keyframe(320, 240), { width: 320, height: 240 }],
    ["a VP8 keyframe at 1920×1080", "video/vp8", vp8Keyframe(1920, 1080), { width: 1920, height: 1080 }],
    ["a VP8 interframe", "video/VP8", Buffer.from([0x11, 0, 0, 0x9d, 0x01, 0x2a, 0, 0, 0, 0]), undefined],
    ["a truncated VP8 frame", "video/VP8", Buffer.from([0x10, 0, 0]), undefined],
    ["a VP9 keyframe", "video/VP9", vp9Keyframe(640, 360), { width: 640, height: 360 }],
    ["a truncated VP9 frame", "video/VP9", vp9Keyframe(640, 360).subarray(0, 4), undefined],
    ["an H.264 frame (size not parsed)", "video/H264", Buffer.alloc(20), undefined],
  ];
  for (const [name, codec, frame, expected] of rows) {
    it(`reads ${name}`, () => expect(keyframeSize(codec, frame)).toEqual(expected));
  }
});

describe("opusPacketSamples (RFC 6716 §3.1)", () => {
  const rows: Array<[string, number[], number | undefined]> = [
    ["one 20 ms CELT frame", [(31 << 3) | 0], 960],
    ["one 10 ms SILK frame", [(0 << 3) | 0], 480],
    ["two 20 ms hybrid frames (code 1)", [(13 << 3) | 1], 1920],
    ["two 60 ms SILK frames (code 3)", [(3 << 3) | 3, 2], 5760],
    ["three 60 ms SILK frames: over the 120 ms limit (§3.2.5)", [(3 << 3) | 3, 3], undefined],
    ["a code 3 packet without its frame count", [(3 << 3) | 3], undefined],
    ["an empty packet", [], undefined],
  ];
  for (const [name, bytes, samples] of rows) {
    it(`counts ${name}`, () => expect(opusPacketSamples(Buffer.from(bytes))).toBe(samples));
  }
});
