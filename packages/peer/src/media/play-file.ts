import { type ChildProcess, execFile, spawn } from "node:child_process";
import { EventEmitter } from "eventemitter3";
import { PeerError } from "../errors.js";
import type { Room } from "../room.js";
import { RtpInput } from "./rtp-input.js";

export interface PlayOptions {
  /** Start again at the end. Default false. */
  loop?: boolean;
  /** The ffmpeg and ffprobe programs. Default: from PATH. */
  ffmpeg?: string;
  ffprobe?: string;
}

interface Probe {
  streams: Array<{ codec_type: string; codec_name: string }>;
}

function probe(ffprobe: string, path: string): Promise<Probe> {
  return new Promise((resolve, reject) => {
    execFile(ffprobe, ["-v", "error", "-show_streams", "-of", "json", path], (err, stdout, stderr) => {
      if (err) {
        const why =
          (err as NodeJS.ErrnoException).code === "ENOENT"
            ? `${ffprobe} is not installed`
            : stderr.trim() || err.message;
        reject(new PeerError("INVALID_ARGUMENT", `cannot read ${path}: ${why}`));
        return;
      }
      resolve(JSON.parse(stdout) as Probe);
    });
  });
}

/**
 * Plays a media file (WebM, MP4, Ogg, or anything ffmpeg reads) into a room, paced by its timestamps, optionally
 * looping: ffmpeg reads it in real time (`-re`) and sends RTP to two local ports, which become the room's tracks.
 * VP8 and Opus pass through untouched; other codecs are encoded to VP8/Opus on the way (werift negotiates those by
 * default). A file with neither audio nor video is refused with INVALID_ARGUMENT.
 */
export class FilePlayer extends EventEmitter<{ ended: () => void; error: (err: PeerError) => void }> {
  private process: ChildProcess | undefined;
  private stopped = false;

  private constructor(
    private readonly inputs: RtpInput[],
    readonly hasVideo: boolean,
    readonly hasAudio: boolean,
  ) {
    super();
  }

  static async start(room: Room, path: string, options: PlayOptions = {}): Promise<FilePlayer> {
    const info = await probe(options.ffprobe ?? "ffprobe", path);
    const video = info.streams.find((s) => s.codec_type === "video");
    const audio = info.streams.find((s) => s.codec_type === "audio");
    if (!video && !audio) {
      throw new PeerError("INVALID_ARGUMENT", `${path} has no audio or video stream ffmpeg can read`);
    }
    const inputs: RtpInput[] = [];
    const args = [
      "-hide_banner",
      "-loglevel",
      "error",
      "-re",
      ...(options.loop ? ["-stream_loop", "-1"] : []),
      "-i",
      path,
    ];
    if (video) {
      const input = await RtpInput.open({ kind: "video" });
      inputs.push(input);
      const codec =
        video.codec_name === "vp8"
          ? ["-c:v", "copy"]
          : ["-c:v", "libvpx", "-deadline", "realtime", "-b:v", "1M", "-g", "60"];
      args.push("-map", "0:v:0", ...codec, "-f", "rtp", `rtp://127.0.0.1:${input.port}?pkt_size=1200`);
    }
    if (audio) {
      const input = await RtpInput.open({ kind: "audio" });
      inputs.push(input);
      const codec = audio.codec_name === "opus" ? ["-c:a", "copy"] : ["-c:a", "libopus", "-ar", "48000", "-ac", "2"];
      args.push("-map", "0:a:0", ...codec, "-f", "rtp", `rtp://127.0.0.1:${input.port}?pkt_size=1200`);
    }
    const player = new FilePlayer(inputs, !!video, !!audio);
    for (const input of inputs) room.addTrack(input.track);
    player.run(options.ffmpeg ?? "ffmpeg", args);
    return player;
  }

  stop(): void {
    this.stopped = true;
    this.process?.kill("SIGTERM");
    for (const input of this.inputs) input.close();
  }

  private run(ffmpeg: string, args: string[]): void {
    const child = spawn(ffmpeg, args, { stdio: ["ignore", "ignore", "pipe"] });
    this.process = child;
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000); // keep the tail: the reason if it fails
    });
    child.on("error", (err) =>
      this.emit("error", new PeerError("INVALID_ARGUMENT", `cannot run ${ffmpeg}: ${err.message}`)),
    );
    child.on("exit", (code) => {
      if (this.stopped) return;
      if (code === 0) this.emit("ended");
      else this.emit("error", new PeerError("INVALID_ARGUMENT", `ffmpeg stopped (${code}): ${stderr.trim()}`));
      for (const input of this.inputs) input.close();
    });
  }
}
