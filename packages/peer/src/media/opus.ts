import { createRequire } from "node:module";
import type { Decoder, Encoder } from "@evan/opus";

type Opus = { Decoder: typeof Decoder; Encoder: typeof Encoder };
let opus: Opus | undefined;
/** The addon is loaded with the first codec, not with @parley/peer: bots without audio never load it. */
function libopus(): Opus {
  opus ??= createRequire(import.meta.url)("@evan/opus") as Opus;
  return opus;
}

/** Sample rates libopus encodes from and decodes to (it resamples internally: a real filter, not sample dropping). */
export const OPUS_RATES = [8000, 12000, 16000, 24000, 48000] as const;
export type OpusRate = (typeof OPUS_RATES)[number];

/**
 * libopus through @evan/opus (a prebuilt native addon inside the npm package, WebAssembly where there is none). Its
 * decode/encode return views of one shared buffer; these copy, so a frame stays valid after the next call.
 */
export class OpusDecoder {
  private readonly decoder: Decoder;
  constructor(
    readonly sampleRate: OpusRate,
    readonly channels: 1 | 2,
  ) {
    this.decoder = new (libopus().Decoder)({ sample_rate: sampleRate, channels });
  }

  /** Interleaved 16-bit PCM; throws on a packet libopus rejects. */
  decode(packet: Uint8Array): Int16Array {
    const bytes = this.decoder.decode(packet);
    const pcm = new Int16Array(bytes.byteLength / 2);
    new Uint8Array(pcm.buffer).set(bytes);
    return pcm;
  }
}

export class OpusEncoder {
  private readonly encoder: Encoder;
  constructor(sampleRate: OpusRate, channels: 1 | 2, bitrate: number, application: "voip" | "audio") {
    this.encoder = new (libopus().Encoder)({ sample_rate: sampleRate, channels, application });
    this.encoder.bitrate = bitrate;
  }

  /** One Opus packet from exactly one frame (2.5–60 ms) of interleaved PCM. */
  encode(pcm: Int16Array): Buffer {
    return Buffer.from(this.encoder.encode(pcm));
  }
}
