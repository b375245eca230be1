/**
 * Signal checks for audio tests, written from the textbook rather than from any codec: a sine generator and the
 * strongest frequency of a signal (a radix-2 FFT over a Hann window, refined by parabolic interpolation).
 */

/** `seconds` of a sine at `hz`, interleaved over `channels`, amplitude `amplitude` of full scale. */
export function sine(hz: number, seconds: number, sampleRate = 48_000, channels = 1, amplitude = 0.3): Int16Array {
  const n = Math.round(seconds * sampleRate);
  const out = new Int16Array(n * channels);
  for (let i = 0; i < n; i++) {
    const v = Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * hz * i) / sampleRate));
    for (let c = 0; c < channels; c++) out[i * channels + c] = v;
  }
  return out;
}

/** The first channel of interleaved samples, as floats in [-1, 1]. */
export function firstChannel(samples: Int16Array, channels: number): Float64Array {
  const out = new Float64Array(Math.floor(samples.length / channels));
  for (let i = 0; i < out.length; i++) out[i] = samples[i * channels]! / 32768;
  return out;
}

/** Magnitude spectrum of the largest power-of-two prefix of `signal` (Hann-windowed). */
export function spectrum(signal: Float64Array): Float64Array {
  let n = 1;
  while (n * 2 <= signal.length) n *= 2;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let i = 0; i < n; i++) re[i] = signal[i]! * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)));
  // Bit-reversal permutation, then iterative Cooley–Tukey butterflies.
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let size = 2; size <= n; size *= 2) {
    const step = (-2 * Math.PI) / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < size / 2; k++) {
        const wr = Math.cos(step * k);
        const wi = Math.sin(step * k);
        const a = start + k;
        const b = a + size / 2;
        const tr = re[b]! * wr - im[b]! * wi;
        const ti = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - tr;
        im[b] = im[a]! - ti;
        re[a] = re[a]! + tr;
        im[a] = im[a]! + ti;
      }
    }
  }
  const mags = new Float64Array(n / 2);
  for (let i = 0; i < n / 2; i++) mags[i] = Math.hypot(re[i]!, im[i]!);
  return mags;
}

/** The strongest frequency in `signal` (Hz), and its share of the spectrum's energy (0–1). */
export function peak(signal: Float64Array, sampleRate: number): { hz: number; share: number } {
  const mags = spectrum(signal);
  const n = mags.length * 2;
  let best = 1;
  let total = 0;
  for (let i = 1; i < mags.length; i++) {
    total += mags[i]! ** 2;
    if (mags[i]! > mags[best]!) best = i;
  }
  const [a, b, c] = [mags[best - 1] ?? 0, mags[best]!, mags[best + 1] ?? 0];
  const offset = a - 2 * b + c === 0 ? 0 : (0.5 * (a - c)) / (a - 2 * b + c);
  // Energy within ±3 bins of the peak: a Hann window spreads a pure tone over about that many.
  let near = 0;
  for (let i = Math.max(1, best - 3); i <= Math.min(mags.length - 1, best + 3); i++) near += mags[i]! ** 2;
  return { hz: ((best + offset) * sampleRate) / n, share: total === 0 ? 0 : near / total };
}

/** Root-mean-square level of `signal` (1 = full-scale square wave). */
export function rms(signal: Float64Array): number {
  let sum = 0;
  for (const v of signal) sum += v * v;
  return signal.length === 0 ? 0 : Math.sqrt(sum / signal.length);
}

/** One array of the samples of several (frames' data, in order). */
export function joinSamples(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
