import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { PeerError } from "../errors.js";
import type { ColorSpace } from "./color-space.js";
import type { PixelFormat, VideoFrame } from "./video-frame.js";

/** Requests to the codec worker (video-codec-worker.ts), one reply each, matched by `req`. */
export type CodecRequest =
  | { type: "open-decoder"; req: number; id: number }
  | { type: "open-encoder"; req: number; id: number }
  | {
      type: "decode";
      req: number;
      id: number;
      data: Uint8Array;
      output: PixelFormat | null;
      /** For RGBA output: how to read the YUV (the sender's colour space). */
      colorSpace?: ColorSpace;
    }
  | {
      type: "encode";
      req: number;
      id: number;
      format: PixelFormat;
      width: number;
      height: number;
      data: Uint8Array;
      pts: number;
      keyframe: boolean;
      bitrate: number;
    }
  | { type: "close"; req: number; id: number };

export interface CodecReply {
  req: number;
  ok: boolean;
  error?: string;
  /** decode: a picture came out (the decoder may hold none back, but VP8 never does). */
  decoded?: boolean;
  frame?: VideoFrame;
  packets?: Array<{ data: Uint8Array; keyframe: boolean }>;
}

/** Workers for all the process's video codecs: one per core, at most four, started when first needed. */
const POOL_SIZE = Math.min(4, availableParallelism());

// From src/media (tests run the source) and dist/media alike, the worker is the built file: a worker thread cannot
// load TypeScript with the workspace's import paths.
const WORKER_URL = new URL("../../dist/media/video-codec-worker.js", import.meta.url);

interface PooledWorker {
  worker: Worker;
  codecs: number;
  pending: Map<number, (reply: CodecReply) => void>;
}

let nextId = 1;
let nextReq = 1;
const pool: PooledWorker[] = [];

function startWorker(): PooledWorker {
  const entry: PooledWorker = { worker: new Worker(WORKER_URL), codecs: 0, pending: new Map() };
  // Idle codec threads never keep a process alive; one with work in flight does (see send).
  entry.worker.unref();
  entry.worker.on("message", (reply: CodecReply) => {
    const resolve = entry.pending.get(reply.req);
    entry.pending.delete(reply.req);
    if (entry.pending.size === 0) entry.worker.unref();
    resolve?.(reply);
  });
  const fail = (why: string) => {
    pool.splice(pool.indexOf(entry), 1);
    for (const resolve of entry.pending.values()) resolve({ req: 0, ok: false, error: why });
    entry.pending.clear();
  };
  entry.worker.on("error", (err) => fail(`video codec thread failed: ${err.message}`));
  entry.worker.on("exit", (code) => pool.includes(entry) && fail(`video codec thread exited (${code})`));
  pool.push(entry);
  return entry;
}

/** The least-loaded worker, or a new one while the pool is not full. */
function pickWorker(): PooledWorker {
  const least = pool.reduce<PooledWorker | undefined>((a, b) => (a && a.codecs <= b.codecs ? a : b), undefined);
  if (least && (least.codecs === 0 || pool.length >= POOL_SIZE)) return least;
  return startWorker();
}

/** Distributive Omit, so each request kind keeps its own fields. */
type Body<T> = T extends unknown ? Omit<T, "req" | "id"> : never;

/** A VP8 decoder or encoder living in a codec worker; calls are answered in order. */
export class VideoCodec {
  private readonly id = nextId++;
  private closed = false;

  private constructor(private readonly host: PooledWorker) {
    host.codecs++;
  }

  static async open(kind: "decoder" | "encoder"): Promise<VideoCodec> {
    const codec = new VideoCodec(pickWorker());
    const reply = await codec.send({ type: kind === "decoder" ? "open-decoder" : "open-encoder" });
    if (!reply.ok) throw new PeerError("INVALID_ARGUMENT", `cannot open a VP8 ${kind}: ${reply.error}`);
    return codec;
  }

  send(body: Body<CodecRequest>, transfer: ArrayBuffer[] = []): Promise<CodecReply> {
    if (this.closed) return Promise.resolve({ req: 0, ok: false, error: "closed" });
    const req = nextReq++;
    return new Promise((resolve) => {
      if (!pool.includes(this.host)) {
        resolve({ req, ok: false, error: "video codec thread is gone" });
        return;
      }
      if (this.host.pending.size === 0) this.host.worker.ref();
      this.host.pending.set(req, resolve);
      this.host.worker.postMessage({ ...body, req, id: this.id }, transfer);
    });
  }

  /** False once its thread has died (a crash, an out-of-memory abort): open a new codec to go on. */
  get alive(): boolean {
    return pool.includes(this.host);
  }

  close(): void {
    if (this.closed) return;
    void this.send({ type: "close" });
    this.closed = true;
    this.host.codecs--;
  }
}

/** Ends every codec thread now (their codecs fail from here on). For tests of recovery, and for embedders. */
export async function terminateCodecThreads(): Promise<void> {
  await Promise.all(pool.map((entry) => entry.worker.terminate()));
}
