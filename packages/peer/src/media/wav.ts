import { type FileHandle, open } from "node:fs/promises";
import { PeerError } from "../errors.js";

/** RIFF/WAVE, 16-bit PCM: what speech engines take and what `AudioStream`/`AudioSource` speak. */
const HEADER_BYTES = 44;
const FORMAT_PCM = 1;
const FORMAT_EXTENSIBLE = 0xfffe;
/** Chunks before "data" larger than this are not a WAV header we should read into memory (LIST, bext…). */
const MAX_CHUNK_BYTES = 1024 * 1024;
/** Samples per chunk read from a file: 100 ms at 48 kHz stereo. */
const READ_BYTES = 19_200;

function header(sampleRate: number, channels: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.write("RIFF", 0, "ascii");
  h.writeUInt32LE(Math.min(0xffffffff, 36 + dataBytes), 4);
  h.write("WAVEfmt ", 8, "ascii");
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(FORMAT_PCM, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36, "ascii");
  h.writeUInt32LE(Math.min(0xffffffff - 36, dataBytes), 40);
  return h;
}

/**
 * Writes 16-bit PCM to a WAV file as it comes. The header's sizes are rewritten after every second of audio and at
 * `close()`, so a file left by a killed process plays up to its last second.
 */
export class WavWriter {
  private dataBytes = 0;
  private headerBytes = 0;
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly file: FileHandle,
    readonly path: string,
    readonly sampleRate: number,
    readonly channels: number,
  ) {}

  static async create(path: string, sampleRate: number, channels: number): Promise<WavWriter> {
    const file = await open(path, "w");
    await file.write(header(sampleRate, channels, 0), 0, HEADER_BYTES, 0);
    return new WavWriter(file, path, sampleRate, channels);
  }

  /** Bytes of samples written so far. */
  get bytes(): number {
    return this.dataBytes;
  }

  /** Appends samples (writes are applied in call order). */
  write(samples: Int16Array): Promise<void> {
    const bytes = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    const at = HEADER_BYTES + this.dataBytes;
    this.dataBytes += bytes.length;
    const rewrite = this.dataBytes - this.headerBytes >= this.sampleRate * this.channels * 2;
    if (rewrite) this.headerBytes = this.dataBytes;
    const size = this.dataBytes;
    const done = this.chain.then(async () => {
      await this.file.write(bytes, 0, bytes.length, at);
      if (rewrite) await this.file.write(header(this.sampleRate, this.channels, size), 0, HEADER_BYTES, 0);
    });
    this.chain = done.catch(() => undefined);
    return done.then(() => undefined);
  }

  /** Writes the final sizes and closes the file. */
  async close(): Promise<void> {
    await this.chain;
    await this.file.write(header(this.sampleRate, this.channels, this.dataBytes), 0, HEADER_BYTES, 0);
    await this.file.close();
  }
}

export interface WavInfo {
  sampleRate: number;
  channels: number;
  /** Bytes of 16-bit samples in the data chunk. */
  dataBytes: number;
  durationMs: number;
}

/**
 * A WAV file of 16-bit PCM read in chunks (`for await (const pcm of wav.samples())`), so an hour-long file never sits
 * in memory. Anything else (8/24/32-bit, float, compressed, truncated, not RIFF) is refused with INVALID_ARGUMENT
 * saying what was found.
 */
export class WavReader implements WavInfo {
  private constructor(
    private readonly file: FileHandle,
    readonly path: string,
    readonly sampleRate: number,
    readonly channels: number,
    readonly dataBytes: number,
    private readonly dataOffset: number,
  ) {}

  get durationMs(): number {
    return (this.dataBytes / (2 * this.channels) / this.sampleRate) * 1000;
  }

  static async open(path: string): Promise<WavReader> {
    let file: FileHandle;
    try {
      file = await open(path, "r");
    } catch (err) {
      throw new PeerError("INVALID_ARGUMENT", `cannot open ${path}: ${(err as Error).message}`);
    }
    try {
      const { size } = await file.stat();
      const read = async (at: number, length: number) => {
        const b = Buffer.alloc(length);
        const { bytesRead } = await file.read(b, 0, length, at);
        return b.subarray(0, bytesRead);
      };
      const riff = await read(0, 12);
      if (riff.length < 12 || riff.toString("ascii", 0, 4) !== "RIFF" || riff.toString("ascii", 8, 12) !== "WAVE") {
        throw new PeerError("INVALID_ARGUMENT", `${path} is not a WAV file (no RIFF/WAVE header)`);
      }
      let at = 12;
      let format: { tag: number; channels: number; rate: number; bits: number } | undefined;
      for (;;) {
        const chunk = await read(at, 8);
        if (chunk.length < 8) throw new PeerError("INVALID_ARGUMENT", `${path} has no data chunk`);
        const id = chunk.toString("ascii", 0, 4);
        const length = chunk.readUInt32LE(4);
        if (id === "data") {
          if (!format) throw new PeerError("INVALID_ARGUMENT", `${path} has its data chunk before its fmt chunk`);
          // A writer that died before fixing the size leaves 0 or 0xffffffff: take the data to the end of the file.
          const available = size - (at + 8);
          const dataBytes = length === 0 || length > available ? available : length;
          const frame = 2 * format.channels;
          return new WavReader(file, path, format.rate, format.channels, dataBytes - (dataBytes % frame), at + 8);
        }
        if (length > MAX_CHUNK_BYTES && id === "fmt ") {
          throw new PeerError("INVALID_ARGUMENT", `${path} has a ${length}-byte fmt chunk`);
        }
        if (id === "fmt ") format = parseFormat(await read(at + 8, Math.min(length, 40)), path);
        at += 8 + length + (length % 2);
      }
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  /** The samples in chunks of about 100 ms (interleaved); closes the file at the end or when the loop stops. */
  async *samples(): AsyncGenerator<Int16Array> {
    try {
      for (let done = 0; done < this.dataBytes; ) {
        const length = Math.min(READ_BYTES - (READ_BYTES % (2 * this.channels)), this.dataBytes - done);
        const chunk = new Int16Array(length / 2);
        const { bytesRead } = await this.file.read(new Uint8Array(chunk.buffer), 0, length, this.dataOffset + done);
        if (bytesRead === 0) return;
        done += bytesRead;
        yield bytesRead === length ? chunk : chunk.subarray(0, Math.floor(bytesRead / 2));
      }
    } finally {
      await this.file.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.file.close().catch(() => undefined);
  }
}

function parseFormat(fmt: Buffer, path: string) {
  if (fmt.length < 16) throw new PeerError("INVALID_ARGUMENT", `${path} has a fmt chunk of ${fmt.length} bytes`);
  let tag = fmt.readUInt16LE(0);
  const channels = fmt.readUInt16LE(2);
  const rate = fmt.readUInt32LE(4);
  const bits = fmt.readUInt16LE(14);
  // WAVE_FORMAT_EXTENSIBLE carries the real format in the first two bytes of its sub-format GUID.
  if (tag === FORMAT_EXTENSIBLE && fmt.length >= 26) tag = fmt.readUInt16LE(24);
  if (tag !== FORMAT_PCM || bits !== 16) {
    throw new PeerError(
      "INVALID_ARGUMENT",
      `${path} is ${tag === FORMAT_PCM ? `${bits}-bit PCM` : `format ${tag}`}; 16-bit PCM is supported (ffmpeg -i in -c:a pcm_s16le out.wav)`,
    );
  }
  if (channels < 1 || channels > 2)
    throw new PeerError("INVALID_ARGUMENT", `${path} has ${channels} channels; 1 or 2 are supported`);
  if (rate < 8000 || rate > 192_000)
    throw new PeerError("INVALID_ARGUMENT", `${path} has a sample rate of ${rate} Hz; 8000–192000 are supported`);
  return { tag, channels, rate, bits };
}
