import { PeerError } from "../errors.js";
import { type ColorSpace, yuvToRgb } from "./color-space.js";

export type PixelFormat = "i420" | "rgba";

/** A raw picture: I420 (Y plane, then U and V at half size, rounded up) or RGBA (4 bytes per pixel, rows top down). */
export interface VideoFrame {
  format: PixelFormat;
  width: number;
  height: number;
  data: Uint8Array;
}

/** VP8's limit is 16383; beyond 4096 a bot is almost certainly being fed garbage dimensions. */
export const MAX_DIMENSION = 4096;

export function frameBytes(format: PixelFormat, width: number, height: number): number {
  if (format === "rgba") return width * height * 4;
  return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
}

/** Throws INVALID_ARGUMENT unless `frame` is a whole frame of a known format and a sane size. */
export function checkFrame(frame: VideoFrame): void {
  if (typeof frame !== "object" || frame === null) throw new PeerError("INVALID_ARGUMENT", "a frame must be an object");
  const { format, width, height, data } = frame;
  if (format !== "i420" && format !== "rgba") {
    throw new PeerError("INVALID_ARGUMENT", `frame format must be "i420" or "rgba", got ${String(format)}`);
  }
  for (const [name, value] of [
    ["width", width],
    ["height", height],
  ] as const) {
    if (!Number.isInteger(value) || value < 2 || value > MAX_DIMENSION) {
      throw new PeerError(
        "INVALID_ARGUMENT",
        `frame ${name} must be an integer from 2 to ${MAX_DIMENSION}, got ${value}`,
      );
    }
  }
  if (!(data instanceof Uint8Array))
    throw new PeerError("INVALID_ARGUMENT", "frame data must be a Uint8Array or Buffer");
  const expected = frameBytes(format, width, height);
  if (data.length !== expected) {
    throw new PeerError(
      "INVALID_ARGUMENT",
      `a ${width}×${height} ${format} frame has ${expected} bytes, got ${data.length}`,
    );
  }
}

// biome-ignore lint/complexity/useMathMinMax: runs for every pixel; two comparisons beat two calls.
const clip = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/**
 * I420 → RGBA. The default is BT.601 limited range (VP8's own, RFC 6386 §9.2); pass the sender's colour space when
 * it said otherwise. Fixed-point arithmetic as in libyuv.
 */
export function i420ToRgba(i420: Uint8Array, width: number, height: number, space?: ColorSpace): Uint8Array {
  const k = yuvToRgb(space);
  const cw = Math.ceil(width / 2);
  const uAt = width * height;
  const vAt = uAt + cw * Math.ceil(height / 2);
  const out = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const row = (y >> 1) * cw;
    for (let x = 0; x < width; x++) {
      const c = k.y * (i420[y * width + x]! - k.yOffset);
      const d = i420[uAt + row + (x >> 1)]! - 128;
      const e = i420[vAt + row + (x >> 1)]! - 128;
      const o = (y * width + x) * 4;
      out[o] = clip((c + k.rv * e + 128) >> 8);
      out[o + 1] = clip((c - k.gu * d - k.gv * e + 128) >> 8);
      out[o + 2] = clip((c + k.bu * d + 128) >> 8);
      out[o + 3] = 255;
    }
  }
  return out;
}

/** RGBA → I420 (BT.601 limited range); chroma is the average of each 2×2 block. Alpha is ignored. */
export function rgbaToI420(rgba: Uint8Array, width: number, height: number): Uint8Array {
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  const out = new Uint8Array(frameBytes("i420", width, height));
  const uAt = width * height;
  const vAt = uAt + cw * ch;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      out[y * width + x] = ((66 * rgba[o]! + 129 * rgba[o + 1]! + 25 * rgba[o + 2]! + 128) >> 8) + 16;
    }
  }
  for (let cy = 0; cy < ch; cy++) {
    for (let cx = 0; cx < cw; cx++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let n = 0;
      for (let dy = 0; dy < 2; dy++) {
        for (let dx = 0; dx < 2; dx++) {
          const x = 2 * cx + dx;
          const y = 2 * cy + dy;
          if (x >= width || y >= height) continue;
          const o = (y * width + x) * 4;
          r += rgba[o]!;
          g += rgba[o + 1]!;
          b += rgba[o + 2]!;
          n++;
        }
      }
      [r, g, b] = [r / n, g / n, b / n];
      out[uAt + cy * cw + cx] = clip(Math.round((-38 * r - 74 * g + 112 * b) / 256) + 128);
      out[vAt + cy * cw + cx] = clip(Math.round((112 * r - 94 * g - 18 * b) / 256) + 128);
    }
  }
  return out;
}
