/** Kernel half-width in output-rate zero crossings: 16 gives > 70 dB of stop-band rejection with a Blackman window. */
const ZERO_CROSSINGS = 16;
/** Kernel table entries per input sample; values between are interpolated linearly. */
const PHASES = 256;

/**
 * Streaming sample-rate conversion of interleaved 16-bit PCM by band-limited interpolation (a Blackman-windowed sinc
 * low-pass at 0.95 × the lower Nyquist frequency, tabulated): a 44.1 kHz WAV becomes 48 kHz for Opus without the
 * aliasing or the imaging that dropping or repeating samples would add. Output lags input by the kernel's half-width;
 * `flush()` gives the tail.
 */
export class Resampler {
  private readonly step: number;
  private readonly cutoff: number;
  private readonly halfWidth: number;
  private readonly table: Float32Array;
  /** Input not yet fully used, per channel, with `halfWidth` samples of history before `position`. */
  private input: Float32Array[];
  private position: number;

  constructor(
    readonly inRate: number,
    readonly outRate: number,
    readonly channels: number,
  ) {
    this.step = inRate / outRate;
    this.cutoff = 0.95 * Math.min(1, outRate / inRate);
    this.halfWidth = Math.ceil(ZERO_CROSSINGS / this.cutoff);
    this.table = new Float32Array(this.halfWidth * PHASES + 2);
    for (let i = 0; i < this.table.length; i++) {
      const x = i / PHASES;
      const u = x / this.halfWidth;
      const window = u >= 1 ? 0 : 0.42 + 0.5 * Math.cos(Math.PI * u) + 0.08 * Math.cos(2 * Math.PI * u);
      const t = Math.PI * this.cutoff * x;
      this.table[i] = this.cutoff * window * (x === 0 ? 1 : Math.sin(t) / t);
    }
    this.input = Array.from({ length: channels }, () => new Float32Array(this.halfWidth));
    this.position = this.halfWidth;
  }

  /** Converts a chunk; returns what can be computed so far (possibly empty). */
  process(pcm: Int16Array): Int16Array {
    const frames = pcm.length / this.channels;
    this.input = this.input.map((old, c) => {
      const joined = new Float32Array(old.length + frames);
      joined.set(old);
      for (let i = 0; i < frames; i++) joined[old.length + i] = pcm[i * this.channels + c]!;
      return joined;
    });
    return this.produce();
  }

  /** The rest, as if silence followed. */
  flush(): Int16Array {
    return this.process(new Int16Array(this.halfWidth * 2 * this.channels));
  }

  private produce(): Int16Array {
    const available = this.input[0]!.length;
    const count = Math.max(0, Math.ceil((available - this.halfWidth - this.position) / this.step));
    const out = new Int16Array(count * this.channels);
    for (let n = 0; n < count; n++) {
      const center = this.position + n * this.step;
      const first = Math.max(0, Math.floor(center) - this.halfWidth + 1);
      const last = Math.min(available - 1, Math.floor(center) + this.halfWidth);
      for (let c = 0; c < this.channels; c++) {
        const x = this.input[c]!;
        let sum = 0;
        for (let k = first; k <= last; k++) sum += x[k]! * this.kernel(Math.abs(center - k));
        out[n * this.channels + c] = Math.max(-32768, Math.min(32767, Math.round(sum)));
      }
    }
    this.position += count * this.step;
    // Keep `halfWidth` samples of history before the next output position; drop the rest.
    const keepFrom = Math.max(0, Math.floor(this.position) - this.halfWidth);
    this.input = this.input.map((x) => x.slice(keepFrom));
    this.position -= keepFrom;
    return out;
  }

  private kernel(distance: number): number {
    const at = distance * PHASES;
    const i = Math.floor(at);
    if (i >= this.table.length - 1) return 0;
    const frac = at - i;
    return this.table[i]! * (1 - frac) + this.table[i + 1]! * frac;
  }
}
