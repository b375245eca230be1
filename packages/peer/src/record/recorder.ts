import { constants } from "node:fs";
import { access, mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { MediaStreamTrack } from "@parley/werift";
import { MediaRecorder } from "@parley/werift/nonstandard";
import { EventEmitter } from "eventemitter3";
import { PeerError } from "../errors.js";
import { onFrames } from "../media/frames.js";
import type { RemoteMember } from "../member.js";
import type { Room } from "../room.js";
import { keyframeSize } from "./frame-size.js";
import { OggOpusWriter } from "./ogg-writer.js";
import { markSegmentUnknownSize } from "./webm-finalize.js";

export interface RecordingOptions {
  /** Directory for the files (created if missing). */
  dir: string;
  /** Start a new file after this long. Default: never. */
  maxDurationMs?: number;
  /** Start a new file once the current one is this large. Default: never. */
  maxBytes?: number;
  /**
   * How long to wait for a member's second kind of media before recording what there is. Default 3 s. A VP8/VP9 file
   * then still waits for the first keyframe (its picture size goes in the header), asking for it every second, up to
   * 10 s more before the fallback size is used.
   */
  settleMs?: number;
  /**
   * Align audio and video by the sender's RTCP clocks (werift's lip-sync). Default true. It holds frames briefly and
   * drops those that cannot be placed; streams whose audio and video clocks are unrelated (replayed captures) need
   * it off.
   */
  lipSync?: boolean;
  /** Picture size written when it cannot be read from a keyframe (H.264, AV1). Default 640×480. */
  fallbackSize?: { width: number; height: number };
}

export interface RecordingFile {
  path: string;
  memberId: string;
  /** "webm" (video with or without audio) or "ogg" (audio only). */
  format: "webm" | "ogg";
  startedAt: Date;
  /** Set once finalized. */
  durationMs?: number;
  bytes?: number;
  width?: number;
  height?: number;
}

export interface RecorderEvents {
  started: (file: RecordingFile) => void;
  /** The file is complete: duration and cues written (WebM), last page flushed (Ogg). */
  finalized: (file: RecordingFile) => void;
  error: (err: PeerError) => void;
}

interface Writer {
  stop(): Promise<void>;
}

/** How often a recording whose video has not started asks the sender for a keyframe again. */
const KEYFRAME_RETRY_MS = 1000;
const KEYFRAME_RETRIES = 10;
/**
 * A WebM file no larger than this holds its header only (a few hundred bytes): the writer has not had its first
 * keyframe yet. werift's writer subscribes to the tracks only after an await (it unlinks the path first), so the
 * keyframe asked for as the file opens can pass before it listens; seeing that keyframe go by is not enough.
 */
const HEADER_ONLY_BYTES = 1024;

/** One member's recording: its tracks, the current file, rotation. */
class MemberRecording {
  readonly tracks = new Map<"audio" | "video", MediaStreamTrack>();
  private size: { width: number; height: number } | undefined;
  private stopSizeWatch: (() => void) | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private rotateTimer: NodeJS.Timeout | undefined;
  private keyframeTimer: NodeJS.Timeout | undefined;
  /** When the last video keyframe came from the member (the file's video starts at one). */
  private lastKeyframeAt = 0;
  private writer: Writer | undefined;
  private file: RecordingFile | undefined;
  private sequence = 0;
  private stopped = false;
  /** The settle time has passed: the file opens as soon as the picture size is known. */
  private settled = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly recorder: Recorder,
    readonly member: RemoteMember,
    private readonly roomName: string,
  ) {}

  addTrack(track: MediaStreamTrack): void {
    if (this.stopped || (track.kind !== "audio" && track.kind !== "video")) return;
    this.tracks.set(track.kind, track);
    if (track.kind === "video") this.watchForSize(track);
    clearTimeout(this.settleTimer);
    if (this.tracks.size === 2 && (this.size || !this.sizeReadable())) this.begin();
    else this.settleTimer = setTimeout(() => this.settle(), this.recorder.options.settleMs ?? 3000);
  }

  /** Stops the current file (finalized) and records nothing more. */
  stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.settleTimer);
    clearInterval(this.rotateTimer);
    clearInterval(this.keyframeTimer);
    this.stopSizeWatch?.();
    return this.enqueue(() => this.finish());
  }

  private sizeReadable(): boolean {
    const codec = this.tracks.get("video")?.codec?.mimeType ?? "";
    return /vp8|vp9/i.test(codec);
  }

  /**
   * Keyframes carry the picture size; ask for one now, and read the size from the first that comes. The watch then
   * stops: it depacketizes a second copy of every frame (the file's writer has its own), which a process recording
   * dozens of members cannot spare, and the size is read once per recording.
   */
  private watchForSize(track: MediaStreamTrack): void {
    void this.member.requestKeyframe();
    this.stopSizeWatch?.();
    this.stopSizeWatch = undefined;
    if (this.size) return;
    const start = () => {
      if (this.stopped || this.size) return;
      try {
        const stop = onFrames(track, (frame) => {
          if (!frame.isKeyframe || this.size) return;
          this.lastKeyframeAt = Date.now();
          this.size = keyframeSize(track.codec?.mimeType ?? "", frame.data);
          if (!this.size) return;
          stop();
          if (this.stopSizeWatch === stop) this.stopSizeWatch = undefined;
          if (this.tracks.size === 2 || this.settled) this.begin();
        });
        this.stopSizeWatch = stop;
      } catch {
        // No depacketizer for this codec: the fallback size is used.
      }
    };
    if (track.codec) start();
    else track.onReceiveRtp.once(() => start());
  }

  /**
   * The wait for a second kind of media is over. A WebM header carries the picture size, and the file's video starts
   * at a keyframe anyway: while a readable codec's first keyframe has not come (a busy sender, a lost request), keep
   * asking for one and open the file when it comes, at its true size, rather than now at the fallback size. After
   * KEYFRAME_RETRIES requests the fallback size is used after all.
   */
  private settle(): void {
    this.settled = true;
    if (this.size || !this.tracks.has("video") || !this.sizeReadable()) {
      this.begin();
      return;
    }
    this.requestKeyframeUntilOne(Date.now());
    this.settleTimer = setTimeout(() => this.begin(), KEYFRAME_RETRY_MS * KEYFRAME_RETRIES);
  }

  private begin(): void {
    clearTimeout(this.settleTimer);
    if (this.stopped || this.writer) return;
    void this.enqueue(() => this.open());
  }

  private async open(): Promise<void> {
    if (this.stopped || this.writer) return;
    const { options } = this.recorder;
    const video = this.tracks.get("video");
    const audio = this.tracks.get("audio");
    const format = video ? "webm" : "ogg";
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const name = `${this.roomName}-${this.member.id.slice(0, 8)}-${stamp}-${String(this.sequence++).padStart(3, "0")}.${format}`;
    const path = join(options.dir, name);
    const size = this.size ?? options.fallbackSize ?? { width: 640, height: 480 };
    const file: RecordingFile = { path, memberId: this.member.id, format, startedAt: new Date() };
    if (video) {
      file.width = size.width;
      file.height = size.height;
      const tracks = audio ? [video, audio] : [video];
      const recorder = new MediaRecorder({
        path,
        tracks,
        width: size.width,
        height: size.height,
        disableLipSync: options.lipSync === false,
      });
      recorder.onError.subscribe((err) =>
        this.recorder.emit(
          "error",
          new PeerError("INVALID_ARGUMENT", `recording ${path}: ${err.message}`, this.member.id),
        ),
      );
      this.writer = recorder;
      this.requestKeyframeUntilOne(Date.now(), path);
    } else if (audio) {
      this.writer = await OggOpusWriter.open(path, audio);
    } else {
      return;
    }
    this.file = file;
    this.recorder.emit("started", file);
    if (options.maxDurationMs || options.maxBytes) {
      this.rotateTimer = setInterval(() => void this.checkRotation(), 1000);
    }
  }

  /**
   * The file's video starts at a keyframe: ask for one now, and again every second until one comes. A single request
   * can go unanswered (lost, or throttled by a busy sender), and then the file had no video at all.
   */
  private requestKeyframeUntilOne(since: number, writtenTo?: string): void {
    clearInterval(this.keyframeTimer);
    void this.member.requestKeyframe();
    let asked = 1;
    const timer = setInterval(async () => {
      // With a file, "one came" means the file has more than its header (see HEADER_ONLY_BYTES).
      const came = writtenTo
        ? ((await stat(writtenTo).catch(() => undefined))?.size ?? 0) > HEADER_ONLY_BYTES
        : this.lastKeyframeAt >= since;
      if (this.keyframeTimer !== timer) return;
      // Where frames cannot be watched (no depacketizer for the codec), this stops after KEYFRAME_RETRIES.
      if (this.stopped || came || asked >= KEYFRAME_RETRIES) clearInterval(timer);
      else {
        asked++;
        void this.member.requestKeyframe();
      }
    }, KEYFRAME_RETRY_MS);
    timer.unref();
    this.keyframeTimer = timer;
  }

  private async checkRotation(): Promise<void> {
    const file = this.file;
    if (!file || this.stopped) return;
    const { maxDurationMs, maxBytes } = this.recorder.options;
    const age = Date.now() - file.startedAt.getTime();
    const bytes = await stat(file.path).then(
      (s) => s.size,
      () => 0,
    );
    if ((maxDurationMs && age >= maxDurationMs) || (maxBytes && bytes >= maxBytes)) {
      await this.enqueue(async () => {
        await this.finish();
        await this.open();
      });
    }
  }

  private async finish(): Promise<void> {
    clearInterval(this.rotateTimer);
    clearInterval(this.keyframeTimer);
    const writer = this.writer;
    const file = this.file;
    this.writer = undefined;
    this.file = undefined;
    if (!writer || !file) return;
    await writer.stop();
    if (file.format === "webm") await markSegmentUnknownSize(file.path);
    file.durationMs = Date.now() - file.startedAt.getTime();
    file.bytes = await stat(file.path).then(
      (s) => s.size,
      () => 0,
    );
    this.recorder.emit("finalized", file);
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(step).catch((err: Error) => {
      this.recorder.emit(
        "error",
        new PeerError("INVALID_ARGUMENT", `recording failed: ${err.message}`, this.member.id),
      );
    });
    return this.chain;
  }
}

/** Creates `dir` if needed and checks it can be written, so a bad directory fails before anything is recorded. */
export async function ensureWritableDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (err) {
    throw new PeerError("INVALID_ARGUMENT", `cannot record into ${dir}: ${(err as Error).message}`);
  }
}

/**
 * Records every member of a room to its own file: WebM (VP8/VP9/H.264/AV1 + Opus) when it sends video, Ogg/Opus
 * when it sends audio only. Files are named `<room>-<member>-<start time>-<n>.<ext>`; a member that leaves has its
 * file finalized; rotation starts a new file (at a keyframe) by duration or size.
 */
export class Recorder extends EventEmitter<RecorderEvents> {
  private readonly members = new Map<string, MemberRecording>();
  private readonly files: RecordingFile[] = [];
  private stopped = false;

  private constructor(
    readonly room: Room,
    readonly options: RecordingOptions,
  ) {
    super();
    this.on("finalized", (file) => this.files.push(file));
    room.on("track", (member, track) => this.recordingFor(member).addTrack(track));
    // A renewed connection brings new tracks: the member's file so far is finalized and the next one starts with them.
    const finish = (member: RemoteMember) => {
      const recording = this.members.get(member.id);
      this.members.delete(member.id);
      void recording?.stop();
    };
    room.on("member-left", finish);
    room.on("member-renewed", finish);
  }

  /** Starts recording `room` into `options.dir` (checked writable now, so a bad directory fails at once). */
  static async start(room: Room, options: RecordingOptions): Promise<Recorder> {
    await ensureWritableDir(options.dir);
    return new Recorder(room, options);
  }

  /** Finalized files so far. */
  get finalized(): readonly RecordingFile[] {
    return this.files;
  }

  /** Finalizes every open file. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all([...this.members.values()].map((m) => m.stop()));
    this.members.clear();
  }

  private recordingFor(member: RemoteMember): MemberRecording {
    let recording = this.members.get(member.id);
    if (!recording) {
      recording = new MemberRecording(this, member, this.room.name);
      this.members.set(member.id, recording);
    }
    return recording;
  }
}
