#!/usr/bin/env node
import { parseArgs } from "node:util";
import { SignalError } from "@parley/signal";
import { PeerError } from "../errors.js";
import { echoRoom } from "../media/echo.js";
import { FilePlayer } from "../media/play-file.js";
import { Peer } from "../peer.js";
import { ensureWritableDir, Recorder } from "../record/recorder.js";
import { UsageError } from "./usage-error.js";
import { VERSION } from "./version.js";
import { runWhipServer, WHIP_SERVER_USAGE } from "./whip-server.js";

const USAGE = `Usage:
  parley record <signal-url> --room R --out DIR [--rotate-minutes N]   record every member to DIR
  parley play FILE --room R [--url URL] [--loop]                        play a media file into the room
  parley echo --room R [--url URL]                                      send each member its own media back
  parley whip-server [--signal URL] [--port P]                          WHIP/WHEP endpoints for the rooms
Options: --url (default $PARLEY_URL or ws://127.0.0.1:8080/signal), --token (default $PARLEY_TOKEN)
  parley COMMAND --help   one command's options;   parley --version`;

const COMMON = `      --url URL           signalling server, ws:// or wss:// (default $PARLEY_URL or ws://127.0.0.1:8080/signal)
      --token T           access token, when the server requires one (default $PARLEY_TOKEN)
  -h, --help`;

const COMMAND_USAGE: Record<string, string> = {
  record: `Usage: parley record <signal-url> --room R --out DIR [--rotate-minutes N] [--token T]
  Joins room R and records every member to DIR: one WebM per member (VP8/VP9 + Opus), Ogg when audio only.
  Ctrl-C or SIGTERM finalizes the files (duration and seek index written) and leaves the room.
      --room R            room to join (required)
      --out DIR           directory for the recordings (required; created if missing, must be writable)
      --rotate-minutes N  start a new file per member every N minutes
${COMMON}`,
  play: `Usage: parley play FILE --room R [--loop] [--url URL] [--token T]
  Joins room R and sends FILE to every member, paced by its timestamps: WebM, MP4, Ogg or anything ffmpeg reads
  (needs ffmpeg and ffprobe on PATH; VP8 and Opus pass through, other codecs are encoded to VP8/Opus).
  Exits when the file ends (unless --loop) or on Ctrl-C.
      --room R            room to join (required)
      --loop              start over at the end
${COMMON}`,
  echo: `Usage: parley echo --room R [--url URL] [--token T]
  Joins room R, sends each member its own audio and video back, and answers "echo: …" on a "chat" data channel.
      --room R            room to join (required)
${COMMON}`,
  "whip-server": WHIP_SERVER_USAGE,
};

/** Which flags each command takes: parseArgs knows the union, a command refuses the others by name. */
const ROOM_FLAGS = ["room", "url", "token"];
const FLAGS: Record<string, string[]> = {
  record: [...ROOM_FLAGS, "out", "rotate-minutes"],
  play: [...ROOM_FLAGS, "loop"],
  echo: ROOM_FLAGS,
  "whip-server": ["signal", "port", "host", "max-sessions", "prefix", "allow-origin"],
};

const stamp = () => new Date().toISOString().slice(11, 19);
/** Progress lines carry a timestamp; help and version text does not. */
const say = (line: string) => process.stdout.write(`[${stamp()}] ${line}\n`);
const print = (text: string): void => void process.stdout.write(`${text}\n`);

function signalUrl(text: string, usage = USAGE): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`"${text}" is not a URL; expected ws://host:port/path or wss://…`, usage);
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new UsageError(
      `"${text}" is a ${url.protocol} URL; the signalling server is reached with ws:// or wss://`,
      usage,
    );
  }
  return url.toString();
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h") return print(USAGE);
  if (command === "--version" || command === "-v") return print(`parley ${VERSION}`);
  const commandUsage = COMMAND_USAGE[command];
  if (!commandUsage) throw new UsageError(`unknown command "${command}"`, USAGE);
  if (rest.includes("--help") || rest.includes("-h")) return print(commandUsage);
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true; strict: true }>>;
  const options = {
    room: { type: "string" },
    out: { type: "string" },
    url: { type: "string" },
    token: { type: "string" },
    loop: { type: "boolean" },
    "rotate-minutes": { type: "string" },
    signal: { type: "string" },
    port: { type: "string" },
    host: { type: "string" },
    "max-sessions": { type: "string" },
    prefix: { type: "string" },
    "allow-origin": { type: "string" },
  } as const;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message, commandUsage);
  }
  const { values, positionals } = parsed;
  const foreign = Object.keys(values).filter((flag) => !FLAGS[command]!.includes(flag));
  if (foreign.length > 0) throw new UsageError(`--${foreign[0]} is not an option of ${command}`, commandUsage);
  if (command === "whip-server") {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`, commandUsage);
    return runWhipServer(
      { ...values, signal: values.signal === undefined ? undefined : signalUrl(values.signal, commandUsage) },
      say,
    );
  }
  const room = values.room;
  if (!room) throw new UsageError("--room is required", commandUsage);
  const urlText = command === "record" ? (positionals[0] ?? values.url) : values.url;
  const url = signalUrl(urlText ?? process.env.PARLEY_URL ?? "ws://127.0.0.1:8080/signal", commandUsage);
  const rotateMinutes = values["rotate-minutes"] === undefined ? undefined : Number(values["rotate-minutes"]);
  if (rotateMinutes !== undefined && !(rotateMinutes > 0))
    throw new UsageError("--rotate-minutes must be a positive number", commandUsage);
  if (command === "record" && !values.out) throw new UsageError("--out DIR is required", commandUsage);
  const file = command === "play" ? positionals[0] : undefined;
  if (command === "play" && !file) throw new UsageError("play needs a FILE", commandUsage);

  if (command === "record") await ensureWritableDir(values.out!); // before connecting: fail fast, join nothing
  const token = values.token ?? process.env.PARLEY_TOKEN;
  const peer = await Peer.connect(url, { ...(token ? { token } : {}), signal: { reconnect: { maxAttempts: 10 } } });
  say(`connected to ${url} as ${peer.id.slice(0, 8)}`);
  const joined = await peer.join(room, {
    metadata: { name: `parley ${command}` },
    ...(command === "play" ? { receive: { audio: false, video: false } } : {}),
  });
  say(`in room "${room}" with ${joined.members.size} other member(s)`);
  joined.on("member-joined", (m) => say(`joined: ${m.id.slice(0, 8)}`));
  joined.on("member-left", (m) => say(`left: ${m.id.slice(0, 8)}`));
  joined.on("error", (e) => say(`error: ${e.message}`));
  peer.on("error", (e) => say(`error: ${e.message}`));

  const stops: Array<() => Promise<void> | void> = [];
  if (command === "record") {
    const recorder = await Recorder.start(joined, {
      dir: values.out!,
      ...(rotateMinutes ? { maxDurationMs: rotateMinutes * 60_000 } : {}),
    });
    recorder.on("started", (f) => say(`recording ${f.memberId.slice(0, 8)} → ${f.path}`));
    recorder.on("finalized", (f) =>
      say(`finalized ${f.path} (${f.bytes} bytes, ${(f.durationMs! / 1000).toFixed(1)} s)`),
    );
    recorder.on("error", (e) => say(`error: ${e.message}`));
    const progress = setInterval(() => {
      for (const m of joined.members.values()) {
        void m.stats().then((s) => say(`${m.id.slice(0, 8)}: ${Math.round(s.bytesReceived / 1024)} KiB received`));
      }
    }, 10_000);
    stops.push(
      () => clearInterval(progress),
      () => recorder.stop(),
    );
  } else if (command === "play") {
    const player = await FilePlayer.start(joined, file!, { loop: values.loop ?? false });
    say(`playing ${file}${values.loop ? " (looping)" : ""}`);
    player.on("ended", () => void shutdown("file ended"));
    player.on("error", (e) => {
      say(`error: ${e.message}`);
      void shutdown("playback failed", 1);
    });
    stops.push(() => player.stop());
  } else {
    stops.push(echoRoom(joined, say));
    await joined.openChannel("chat");
    say("echoing");
  }

  let stopping = false;
  async function shutdown(reason: string, code = 0): Promise<void> {
    if (stopping) return;
    stopping = true;
    say(`stopping: ${reason}`);
    for (const stop of stops) await stop();
    await peer.close();
    process.exit(code);
  }
  process.on("SIGINT", () => void shutdown("Ctrl-C"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

main(process.argv.slice(2)).catch((err: Error) => {
  if (err instanceof UsageError) {
    process.stderr.write(`parley: ${err.message}\n${err.usage}\n`);
    process.exit(2);
  }
  const code = err instanceof SignalError || err instanceof PeerError ? ` (${err.code})` : "";
  const hint =
    err instanceof SignalError && err.code === "UNAUTHORIZED"
      ? "the server refused our token; pass --token or set PARLEY_TOKEN"
      : err instanceof SignalError && err.code === "CONNECT_FAILED"
        ? "is the signalling server running at that address?"
        : "";
  process.stderr.write(`parley: ${err.message}${code}${hint ? `\n  ${hint}` : ""}\n`);
  process.exit(1);
});
