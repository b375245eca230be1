import { describe, expect, it } from "vitest";
import { firstChannel, joinSamples, peak, rms, sine } from "../../../test/helpers/tone.js";
import { Resampler } from "../src/media/resample.js";

function convert(pcm: Int16Array, from: number, to: number, channels = 1, chunk = pcm.length): Int16Array {
  const r = new Resampler(from, to, channels);
  const parts: Int16Array[] = [];
  for (let at = 0; at < pcm.length; at += chunk) parts.push(r.process(pcm.subarray(at, at + chunk)));
  parts.push(r.flush());
  return joinSamples(parts);
}

describe("Resampler", () => {
  it("turns a second of 44.1 kHz into a second of 48 kHz, same tone, same level", () => {
    const input = sine(1000, 1, 44_100);
    const output = convert(input, 44_100, 48_000);
    // The flush adds the kernel's tail: a few ms of fade beyond the second.
    expect(output.length).toBeGreaterThanOrEqual(48_000);
    expect(output.length).toBeLessThan(48_000 + 48 * 5);
    const middle = firstChannel(output.subarray(4800, 43_200), 1);
    expect(Math.abs(peak(middle, 48_000).hz - 1000)).toBeLessThan(2);
    expect(rms(middle) / rms(firstChannel(input, 1))).toBeCloseTo(1, 1);
  });

  it("filters before it decimates: 10 kHz at 48 kHz leaves nothing at 16 kHz, 3 kHz passes", () => {
    const high = convert(sine(10_000, 0.5), 48_000, 16_000);
    expect(rms(firstChannel(high.subarray(800, 7200), 1))).toBeLessThan(0.001);
    const low = convert(sine(3000, 0.5), 48_000, 16_000);
    expect(rms(firstChannel(low.subarray(800, 7200), 1))).toBeGreaterThan(0.2);
  });

  it("gives the same samples whatever the chunking, stereo kept apart", () => {
    const left = sine(500, 0.3, 22_050);
    const right = sine(2000, 0.3, 22_050);
    const stereo = new Int16Array(left.length * 2);
    for (let i = 0; i < left.length; i++) [stereo[2 * i], stereo[2 * i + 1]] = [left[i]!, right[i]!];
    const whole = convert(stereo, 22_050, 48_000, 2);
    expect(convert(stereo, 22_050, 48_000, 2, 2 * 37)).toEqual(whole);
    expect(convert(stereo, 22_050, 48_000, 2, 2)).toEqual(whole);
    const l = new Int16Array(whole.length / 2).map((_, i) => whole[2 * i]!);
    const r = new Int16Array(whole.length / 2).map((_, i) => whole[2 * i + 1]!);
    expect(Math.abs(peak(firstChannel(l, 1), 48_000).hz - 500)).toBeLessThan(3);
    expect(Math.abs(peak(firstChannel(r, 1), 48_000).hz - 2000)).toBeLessThan(3);
  });
});
