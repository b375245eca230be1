// The VP8 codecs' thread: libvpx (libav.js, WebAssembly) decoding and encoding off the event loop, so a 640×480
// decode (a few ms) never delays audio pacing or signalling. Many codecs share one worker; requests run in order.
import { createRequire } from "node:module";
import { parentPort } from "node:worker_threads";
import type LibAVJS from "@libav.js/variant-vp8-opus";
import type { CodecReply, CodecRequest } from "./video-codec.js";
import { i420ToRgba, rgbaToI420 } from "./video-frame.js";

type LibAV = LibAVJS.LibAV;

const require = createRequire(import.meta.url);
const libavReady: Promise<LibAV> = (async () => {
  // Within this thread (noworker): the thread is ours, and messages to a nested worker would only add copies.
  const factory = require("@libav.js/variant-vp8-opus") as typeof LibAVJS;
  const libav = await factory.LibAV({ noworker: true, nothreads: true });
  // libvpx prints its version on every open; errors come back as rejected calls.
  await libav.av_log_set_level(libav.AV_LOG_QUIET);
  return libav;
})();

interface Decoder {
  kind: "decoder";
  ctx: number;
  pkt: number;
  frame: number;
}

interface Encoder {
  kind: "encoder";
  ctx: number;
  pkt: number;
  frame: number;
  width: number;
  height: number;
  bitrate: number;
}

const codecs = new Map<number, Decoder | Encoder>();

async function openEncoder(libav: LibAV, width: number, height: number, bitrate: number): Promise<Encoder> {
  const [, ctx, frame, pkt] = await libav.ff_init_encoder("libvpx", {
    ctx: {
      width,
      height,
      pix_fmt: libav.AV_PIX_FMT_YUV420P,
      bit_rate: bitrate,
      gop_size: 1 << 30,
    },
    time_base: [1, 90_000],
    // Real-time, no look-ahead (each frame comes out as it goes in), frames decodable after loss; keyframes only when
    // asked (a PLI/FIR, the first frame, the source's interval).
    options: {
      deadline: "realtime",
      "cpu-used": "8",
      "lag-in-frames": "0",
      "error-resilient": "1",
      "max-intra-rate": "300",
    },
  });
  return { kind: "encoder", ctx, pkt, frame, width, height, bitrate };
}

async function close(libav: LibAV, id: number): Promise<void> {
  const codec = codecs.get(id);
  codecs.delete(id);
  if (codec?.kind === "decoder") await libav.ff_free_decoder(codec.ctx, codec.pkt, codec.frame);
  if (codec?.kind === "encoder") await libav.ff_free_encoder(codec.ctx, codec.frame, codec.pkt);
}

/** Copies a decoded frame's planes (strided) into packed I420. */
function packI420(f: LibAVJS.Frame, width: number, height: number): Uint8Array {
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  const out = new Uint8Array(width * height + 2 * cw * ch);
  const layout = f.layout ?? [
    { offset: 0, stride: width },
    { offset: width * height, stride: cw },
    { offset: width * height + cw * ch, stride: cw },
  ];
  let at = 0;
  for (const [plane, w, h] of [
    [0, width, height],
    [1, cw, ch],
    [2, cw, ch],
  ] as const) {
    const { offset, stride } = layout[plane]!;
    for (let y = 0; y < h; y++) {
      out.set((f.data as Uint8Array).subarray(offset + y * stride, offset + y * stride + w), at);
      at += w;
    }
  }
  return out;
}

const handlers: {
  [K in CodecRequest["type"]]: (libav: LibAV, r: Extract<CodecRequest, { type: K }>) => Promise<CodecReply>;
} = {
  async "open-decoder"(libav, r) {
    const [, ctx, pkt, frame] = await libav.ff_init_decoder("libvpx");
    codecs.set(r.id, { kind: "decoder", ctx, pkt, frame });
    return { req: r.req, ok: true };
  },
  async "open-encoder"(_libav, r) {
    // Opened at the first frame, when its size is known.
    codecs.delete(r.id);
    return { req: r.req, ok: true };
  },
  async decode(libav, r) {
    const codec = codecs.get(r.id);
    if (codec?.kind !== "decoder") return { req: r.req, ok: false, error: "no such decoder" };
    const frames = await libav.ff_decode_multi(codec.ctx, codec.pkt, codec.frame, [{ data: r.data }], {
      ignoreErrors: false,
      copyoutFrame: "video_packed",
    });
    const last = frames.at(-1);
    if (!last?.width || !last.height) return { req: r.req, ok: true };
    if (!r.output) return { req: r.req, ok: true, decoded: true };
    const { width, height } = last;
    const i420 = packI420(last, width, height);
    const data = r.output === "rgba" ? i420ToRgba(i420, width, height, r.colorSpace) : i420;
    return { req: r.req, ok: true, decoded: true, frame: { format: r.output, width, height, data } };
  },
  async encode(libav, r) {
    let codec = codecs.get(r.id);
    if (codec && codec.kind !== "encoder") return { req: r.req, ok: false, error: "no such encoder" };
    if (!codec || codec.width !== r.width || codec.height !== r.height || codec.bitrate !== r.bitrate) {
      // A new size (or bitrate) starts a new stream: libvpx cannot change resolution mid-stream; the first frame of
      // the new one is a keyframe, which is what a receiver needs to follow the change.
      if (codec) await close(libav, r.id);
      codec = await openEncoder(libav, r.width, r.height, r.bitrate);
      codecs.set(r.id, codec);
    }
    const i420 = r.format === "rgba" ? rgbaToI420(r.data, r.width, r.height) : r.data;
    const packets = await libav.ff_encode_multi(
      codec.ctx,
      codec.frame,
      codec.pkt,
      [
        {
          data: i420,
          format: libav.AV_PIX_FMT_YUV420P,
          width: r.width,
          height: r.height,
          pts: r.pts,
          pict_type: r.keyframe ? 1 : 0,
        },
      ],
      false,
    );
    return {
      req: r.req,
      ok: true,
      packets: packets.map((p) => ({
        data: p.data,
        keyframe: ((p.flags ?? 0) & 1) === 1,
      })),
    };
  },
  async close(libav, r) {
    await close(libav, r.id);
    return { req: r.req, ok: true };
  },
};

let queue: Promise<unknown> = Promise.resolve();
parentPort!.on("message", (request: CodecRequest) => {
  queue = queue.then(async () => {
    let reply: CodecReply;
    try {
      const libav = await libavReady;
      reply = await (handlers[request.type] as (l: LibAV, r: CodecRequest) => Promise<CodecReply>)(libav, request);
    } catch (err) {
      reply = { req: request.req, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    // Moved, not copied: each buffer once (packets may share one).
    const transfer = new Set<ArrayBuffer>();
    if (reply.frame) transfer.add(reply.frame.data.buffer as ArrayBuffer);
    for (const p of reply.packets ?? []) transfer.add(p.data.buffer as ArrayBuffer);
    parentPort!.postMessage(reply, [...transfer]);
  });
});
