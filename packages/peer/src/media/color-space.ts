/**
 * The colour space a sender says its video is in: WebRTC's color-space RTP header extension (what Chromium sends
 * for a canvas or screen capture, which is not in VP8's default BT.601 limited range). Without it VP8 is BT.601,
 * limited range (RFC 6386 §9.2), which is also what a VideoSource sends.
 */
export const COLOR_SPACE_URI = "http://www.webrtc.org/experiments/rtp-hdrext/color-space";

export interface ColorSpace {
  /** Matrix coefficients, ITU-T H.273 Table 4: 1 BT.709, 5/6 BT.601, 9 BT.2020 (non-constant luminance). */
  matrix: number;
  range: "limited" | "full";
}

export const BT601_LIMITED: ColorSpace = { matrix: 6, range: "limited" };

/** Luma weights (Kr, Kb) per H.273 matrix code; unknown or unspecified codes are taken as BT.601. */
const WEIGHTS: Record<number, [number, number]> = {
  1: [0.2126, 0.0722],
  5: [0.299, 0.114],
  6: [0.299, 0.114],
  9: [0.2627, 0.0593],
  10: [0.2627, 0.0593],
};

/**
 * Reads the extension's first four bytes — primaries, transfer, matrix, then range (2 bits) above the chroma siting
 * (2 + 2 bits); HDR metadata after them is ignored. Undefined when too short or the range is not limited or full.
 */
export function parseColorSpace(payload: Uint8Array | undefined): ColorSpace | undefined {
  if (!payload || payload.length < 4) return undefined;
  const range = (payload[3]! >> 4) & 3;
  if (range !== 1 && range !== 2) return undefined;
  return { matrix: payload[2]!, range: range === 2 ? "full" : "limited" };
}

/** Fixed-point (×256) YUV → RGB coefficients for a colour space. */
export interface YuvToRgb {
  yOffset: number;
  y: number;
  rv: number;
  gu: number;
  gv: number;
  bu: number;
}

export function yuvToRgb(space: ColorSpace = BT601_LIMITED): YuvToRgb {
  const [kr, kb] = WEIGHTS[space.matrix] ?? WEIGHTS[6]!;
  const kg = 1 - kr - kb;
  const full = space.range === "full";
  const ys = full ? 1 : 255 / 219;
  const cs = full ? 1 : 255 / 224;
  const fix = (v: number) => Math.round(v * 256);
  return {
    yOffset: full ? 0 : 16,
    y: fix(ys),
    rv: fix(2 * (1 - kr) * cs),
    gu: fix(((2 * kb * (1 - kb)) / kg) * cs),
    gv: fix(((2 * kr * (1 - kr)) / kg) * cs),
    bu: fix(2 * (1 - kb) * cs),
  };
}
