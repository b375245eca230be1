import { MediaStreamTrack, type RtpPacket } from "@parley/werift";
import { afterEach, describe, expect, it } from "vitest";
import {
  type DecodedFrame,
  i420ToRgba,
  PeerError,
  type RemoteMember,
  rgbaToI420,
  type VideoFrame,
  VideoSource,
  VideoStream,
} from "../src/index.js";
import { parseColorSpace } from "../src/media/color-space.js";
import { terminateCodecThreads } from "../src/media/video-codec.js";
import { Vp8Packetizer } from "../src/media/vp8-packetizer.js";
import { loopbackPeer, signalServer, until, waitFor } from "./helpers/room-fixture.js";

function solid(width: number, height: number, [r, g, b]: [number, number, number]): VideoFrame {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i += 4) data.set([r, g, b, 255], i);
  return { format: "rgba", width, height, data };
}

function average(frame: DecodedFrame): [number, number, number] {
  const rgba = frame.format === "rgba" ? frame.data : i420ToRgba(frame.data, frame.width, frame.height);
  const sum = [0, 0, 0];
  for (let i = 0; i < rgba.length; i += 4) for (let c = 0; c < 3; c++) sum[c]! += rgba[i + c]!;
  const n = rgba.length / 4;
  return sum.map((v) => Math.round(v / n)) as [number, number, number];
}

/** A local track that looks like a received VP8 track (what a VideoStream reads). */
const vp8Track = () => new MediaStreamTrack({ kind: "video", codec: { mimeType: "video/VP8" } as never });

const open: Array<{ close(): void }> = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

describe("colour conversion (BT.601 limited range)", () => {
  it("takes solid colours to I420 and back within 2 levels", () => {
    for (const colour of [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [30, 144, 255],
      [128, 128, 128],
      [250, 250, 20],
    ] as Array<[number, number, number]>) {
      const frame = solid(6, 4, colour);
      const back = i420ToRgba(rgbaToI420(frame.data, 6, 4), 6, 4);
      for (let c = 0; c < 3; c++)
        expect(Math.abs(back[c]! - colour[c]!), `${colour} channel ${c}`).toBeLessThanOrEqual(2);
    }
  });

  it("handles odd sizes (chroma rounded up)", () => {
    const i420 = rgbaToI420(solid(5, 3, [10, 200, 30]).data, 5, 3);
    expect(i420.length).toBe(5 * 3 + 2 * 3 * 2);
    expect(i420ToRgba(i420, 5, 3).length).toBe(5 * 3 * 4);
  });
});

describe("colour space declared by the sender (WebRTC color-space RTP header extension)", () => {
  it("reads primaries, transfer, matrix and range; refuses short or rangeless payloads", () => {
    // BT.709 everything, full range (2 << 4), chroma siting 1/1: what Chromium declares for a canvas capture.
    expect(parseColorSpace(Uint8Array.from([1, 1, 1, (2 << 4) | (1 << 2) | 1]))).toEqual({ matrix: 1, range: "full" });
    expect(parseColorSpace(Uint8Array.from([6, 6, 6, 1 << 4]))).toEqual({ matrix: 6, range: "limited" });
    expect(parseColorSpace(Uint8Array.from([1, 1, 1]))).toBeUndefined();
    expect(parseColorSpace(Uint8Array.from([1, 1, 1, 0]))).toBeUndefined();
    expect(parseColorSpace(undefined)).toBeUndefined();
  });

  it("converts BT.709 full-range YUV to the colour it encoded, where BT.601 limited would not", () => {
    // Textbook BT.709 full-range encoding of dodger blue (30, 144, 255).
    const [kr, kb] = [0.2126, 0.0722];
    const [r, g, b] = [30, 144, 255];
    const y = kr * r + (1 - kr - kb) * g + kb * b;
    const yuv = [y, 128 + (b - y) / (2 * (1 - kb)), 128 + (r - y) / (2 * (1 - kr))].map(Math.round);
    const i420 = new Uint8Array(4 * 4 + 2 * 2 * 2);
    i420.fill(yuv[0]!, 0, 16);
    i420.fill(yuv[1]!, 16, 20);
    i420.fill(yuv[2]!, 20, 24);
    const right = i420ToRgba(i420, 4, 4, { matrix: 1, range: "full" });
    expect([...right.subarray(0, 3)].map((v, i) => Math.abs(v - [r, g, b][i]!) <= 2)).toEqual([true, true, true]);
    const wrong = i420ToRgba(i420, 4, 4);
    expect(Math.abs(wrong[1]! - g)).toBeGreaterThan(6);
  });
});

describe("Vp8Packetizer (RFC 7741)", () => {
  it("splits a frame into ≤1200-byte payloads: S on the first, marker on the last, one PictureID per frame", () => {
    const p = new Vp8Packetizer();
    const frame = new Uint8Array(3000).map((_, i) => i & 0xff);
    const packets = p.packetize(frame, 1234);
    expect(packets).toHaveLength(3);
    expect(packets.map((x) => x.payload.length <= 1200)).toEqual([true, true, true]);
    expect(packets.map((x) => (x.payload[0]! & 0x10) !== 0)).toEqual([true, false, false]);
    expect(packets.map((x) => x.header.marker)).toEqual([false, false, true]);
    const ids = packets.map((x) => x.payload.readUInt16BE(2) & 0x7fff);
    expect(new Set(ids).size).toBe(1);
    expect(Buffer.concat(packets.map((x) => x.payload.subarray(4)))).toEqual(Buffer.from(frame));
    const seq = packets.map((x) => x.header.sequenceNumber);
    expect(seq[1]).toBe((seq[0]! + 1) & 0xffff);
    const next = p.packetize(new Uint8Array(10), 5000)[0]!;
    expect(next.payload.readUInt16BE(2) & 0x7fff).toBe((ids[0]! + 1) & 0x7fff);
  });
});

describe("VideoSource → VideoStream", () => {
  it("draws a solid colour and reads it back decoded, through its own track", async () => {
    const source = new VideoSource({ maxFps: 30 });
    open.push(source);
    // The source's local track hands what it sends to its own subscribers: a VP8 stream without a network.
    const track = vp8Track();
    source.track.onReceiveRtp.subscribe((rtp) => track.onReceiveRtp.execute(rtp));
    const stream = new VideoStream(track, { maxFps: 30 });
    open.push(stream);
    const frames: DecodedFrame[] = [];
    const reading = (async () => {
      for await (const f of stream) frames.push(f);
    })();
    for (let i = 0; i < 10; i++) await source.write(solid(320, 240, [30, 144, 255]));
    await until(() => frames.length > 0 && stream.stats.decoded >= 10, 10_000, "decoded frames");
    stream.close();
    await reading;
    const last = frames.at(-1)!;
    expect(last).toMatchObject({ format: "rgba", width: 320, height: 240 });
    const [r, g, b] = average(last);
    expect(Math.abs(r - 30)).toBeLessThanOrEqual(6);
    expect(Math.abs(g - 144)).toBeLessThanOrEqual(6);
    expect(Math.abs(b - 255)).toBeLessThanOrEqual(6);
    expect(source.stats).toMatchObject({ frames: 10, keyframes: 1 });
  });

  it("paces a fast writer to maxFps", async () => {
    const source = new VideoSource({ maxFps: 10 });
    open.push(source);
    const frame = solid(64, 48, [0, 0, 0]);
    const started = performance.now();
    for (let i = 0; i < 6; i++) await source.write(frame);
    // Six frames at 10 per second: the sixth cannot go before 500 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(490);
  });

  it("starts a new stream with a keyframe when the size changes, and on request", async () => {
    const source = new VideoSource({ maxFps: 60 });
    open.push(source);
    await source.write(solid(64, 48, [0, 0, 0]));
    await source.write(solid(64, 48, [0, 0, 0]));
    await source.write(solid(96, 64, [0, 0, 0]));
    expect(source.stats.keyframes).toBe(2);
    source.requestKeyframe();
    await source.write(solid(96, 64, [0, 0, 0]));
    expect(source.stats.keyframes).toBe(3);
  });

  it("refuses malformed frames and options with typed errors, and sends nothing for them", async () => {
    const source = new VideoSource();
    open.push(source);
    const bad: Array<[unknown, RegExp]> = [
      [{ format: "rgb", width: 4, height: 4, data: new Uint8Array(48) }, /format must be "i420" or "rgba"/],
      [{ format: "rgba", width: 0, height: 4, data: new Uint8Array(0) }, /width must be an integer from 2 to 4096/],
      [{ format: "rgba", width: 5000, height: 4, data: new Uint8Array(80_000) }, /width must be an integer/],
      [{ format: "rgba", width: 4, height: 4, data: new Uint8Array(63) }, /a 4×4 rgba frame has 64 bytes, got 63/],
      [{ format: "i420", width: 4, height: 4, data: new Uint8Array(64) }, /a 4×4 i420 frame has 24 bytes, got 64/],
      [{ format: "rgba", width: 4, height: 4, data: [1, 2, 3] }, /must be a Uint8Array/],
    ];
    for (const [frame, message] of bad) {
      await expect(source.write(frame as VideoFrame)).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
        message: expect.stringMatching(message),
      });
    }
    expect(source.stats.frames).toBe(0);
    expect(() => new VideoSource({ bitrate: 10 })).toThrow(/bitrate must be an integer from 50000/);
    expect(() => new VideoSource({ maxFps: 0 })).toThrow(/maxFps must be an integer from 1 to 60/);
    expect(() => new VideoStream(vp8Track(), { format: "bgra" as never })).toThrow(PeerError);
    expect(() => new VideoStream(vp8Track(), { maxQueuedFrames: 0 })).toThrow(/maxQueuedFrames/);
    expect(() => new VideoStream(new MediaStreamTrack({ kind: "audio" }))).toThrow(/decodes VP8 video tracks/);
    source.close();
    await expect(source.write(solid(4, 4, [0, 0, 0]))).rejects.toMatchObject({ code: "CLOSED" });
  });
});

describe("codec threads that die", () => {
  it("a stream and a source open new codecs and go on from the next keyframe", async () => {
    const source = new VideoSource({ maxFps: 60 });
    open.push(source);
    const track = vp8Track();
    source.track.onReceiveRtp.subscribe((rtp) => track.onReceiveRtp.execute(rtp));
    // The stream's keyframe requests go straight to the source, as a PLI over the network would.
    const stream = new VideoStream(track, { maxFps: 60, member: { requestKeyframe: () => source.requestKeyframe() } });
    open.push(stream);
    const frames: DecodedFrame[] = [];
    void (async () => {
      for await (const f of stream) frames.push(f);
    })();
    await source.write(solid(64, 48, [200, 0, 0]));
    await until(() => frames.length === 1, 5000, "a frame before");
    await terminateCodecThreads();
    // The write in flight when the thread died fails; the next ones go to a new encoder, starting with a keyframe.
    await source
      .write(solid(64, 48, [0, 0, 200]))
      .catch((err: PeerError) => expect(err.message).toMatch(/VP8 encoding failed/));
    // A source keeps drawing; the stream's next keyframe request (they are spaced 300 ms apart) brings the picture.
    for (let i = 0; i < 120 && frames.length < 2; i++) await source.write(solid(64, 48, [0, 0, 200]));
    expect(frames.length).toBeGreaterThanOrEqual(2);
    const [r, , b] = average(frames.at(-1)!);
    expect(b).toBeGreaterThan(150);
    expect(r).toBeLessThan(50);
  });
});

describe("VideoStream and hostile input", () => {
  it("never decodes a keyframe claiming 16000×16000, nor garbage; waits for a sane keyframe and decodes that", async () => {
    const track = vp8Track();
    const stream = new VideoStream(track, { format: "i420" });
    open.push(stream);
    const packetizer = new Vp8Packetizer();
    let ts = 0;
    let seq = 0;
    const deliver = (rtp: RtpPacket) => {
      seq = rtp.header.sequenceNumber;
      track.onReceiveRtp.execute(rtp);
    };
    const send = (frame: Uint8Array) => {
      ts += 3000;
      for (const rtp of packetizer.packetize(frame, ts)) deliver(rtp);
    };
    // A VP8 keyframe header (RFC 6386 §9.1) stating 16000×16000, then bytes no decoder can use.
    const bomb = new Uint8Array(64);
    bomb.set([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a]);
    new DataView(bomb.buffer).setUint16(6, 16_000, true);
    new DataView(bomb.buffer).setUint16(8, 16_000, true);
    send(bomb);
    // A keyframe of sane size whose body is garbage: libvpx refuses it, the stream asks again.
    const junk = new Uint8Array(200).map((_, i) => (i * 73) & 0xff);
    junk.set([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 64, 0, 48, 0]);
    send(junk);
    // Then a real one, from the encoder: decoded.
    const source = new VideoSource();
    open.push(source);
    // One sender, one sequence: what a member's packets look like however its frames were made.
    source.track.onReceiveRtp.subscribe((rtp) => {
      rtp.header.sequenceNumber = (seq + 1) & 0xffff;
      deliver(rtp);
    });
    await source.write(solid(64, 48, [10, 20, 30]));
    const frame = await stream[Symbol.asyncIterator]().next();
    expect(frame.value).toMatchObject({ width: 64, height: 48 });
    expect(stream.stats.refusedFrames).toBe(1);
    expect(stream.stats.decodeErrors).toBeGreaterThanOrEqual(1);
  });
});

describe("video between two bots", () => {
  it("the receiver asks for a keyframe (PLI), the sender answers, and the colour arrives", async () => {
    const url = await signalServer();
    const drawer = await loopbackPeer(url);
    const viewer = await loopbackPeer(url);
    const source = new VideoSource({ keyframeIntervalMs: 0 });
    open.push(source);
    const room = await drawer.join("v", { receive: { audio: false, video: false } });
    room.addTrack(source.track);
    let drawing = true;
    const drawLoop = (async () => {
      const frame = solid(320, 240, [250, 40, 40]);
      while (drawing) await source.write(frame);
    })();
    const viewerRoom = await viewer.join("v", { receive: { audio: false, video: true } });
    const stream = await waitFor<VideoStream>((resolve) =>
      viewerRoom.on("track", (member, track) => resolve(new VideoStream(track, { member, format: "i420" }))),
    );
    open.push(stream);
    // A dozen pictures in: past the first keyframe's coarse quantization (rate control starts low).
    let frame: DecodedFrame | undefined;
    for await (const f of stream) {
      frame = f;
      if (stream.stats.frames >= 12) break;
    }
    drawing = false;
    await drawLoop;
    expect(frame).toMatchObject({ format: "i420", width: 320, height: 240 });
    const [r, g, b] = average(frame!);
    console.log(`drew (250, 40, 40), read (${r}, ${g}, ${b})`);
    for (const [got, want] of [
      [r, 250],
      [g, 40],
      [b, 40],
    ]) {
      expect(Math.abs(got! - want!)).toBeLessThanOrEqual(8);
    }
    // The stream asked at its start (a PLI through werift's receiver); the source heard it and sent a keyframe.
    expect(stream.stats.keyframeRequests).toBeGreaterThanOrEqual(1);
    await until(() => source.stats.keyframeRequests >= 1, 5000, "the PLI at the source");
    expect(source.stats.keyframes).toBeGreaterThanOrEqual(2);
  });

  it("a FIR (RFC 5104, media SSRC 0, the source named in its FCI) makes the next frame a keyframe", async () => {
    const url = await signalServer();
    const drawer = await loopbackPeer(url);
    const viewer = await loopbackPeer(url);
    const source = new VideoSource({ keyframeIntervalMs: 0, maxFps: 20 });
    open.push(source);
    const room = await drawer.join("fir", { receive: { audio: false, video: false } });
    room.addTrack(source.track);
    let drawing = true;
    const drawLoop = (async () => {
      const frame = solid(64, 48, [0, 128, 0]);
      while (drawing) await source.write(frame);
    })();
    const viewerRoom = await viewer.join("fir", { receive: { audio: false, video: true } });
    const member = await waitFor<RemoteMember>((resolve) => viewerRoom.on("track", (m) => resolve(m)));
    const transceiver = member.pc.getTransceivers().find((t) => t.kind === "video")!;
    await until(() => transceiver.receiver.track?.ssrc !== undefined && source.stats.frames > 5, 10_000, "media");
    const before = { requests: source.stats.keyframeRequests, keyframes: source.stats.keyframes };
    // RFC 5104 §4.3.1: V=2, FMT=4, PT=206 (PSFB), length 4 words; sender SSRC; media SSRC 0; FCI: SSRC, seq nr, 0.
    const fir = Buffer.alloc(20);
    fir.writeUInt8(0x80 | 4, 0);
    fir.writeUInt8(206, 1);
    fir.writeUInt16BE(4, 2);
    fir.writeUInt32BE(0x1234, 4);
    fir.writeUInt32BE(0, 8);
    fir.writeUInt32BE(transceiver.receiver.track!.ssrc!, 12);
    fir.writeUInt8(1, 16);
    await transceiver.receiver.dtlsTransport.sendRtcp([{ serialize: () => fir } as never]);
    await until(() => source.stats.keyframeRequests > before.requests, 5000, "the FIR at the source");
    await until(() => source.stats.keyframes > before.keyframes, 5000, "a keyframe after the FIR");
    drawing = false;
    await drawLoop;
  });
});
