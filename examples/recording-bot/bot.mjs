#!/usr/bin/env node
// A recording bot: joins a room and records every member to its own file (WebM with video, Ogg when audio only).
//
//   node examples/recording-bot/bot.mjs ws://127.0.0.1:8080 standup ./recordings
//
// Ctrl-C finalizes the files (duration and cues written, so players can seek) and exits.
import { Peer, Recorder } from "@parley/peer";

const [url = "ws://127.0.0.1:8080", roomName = "demo", dir = "recordings"] = process.argv.slice(2);

const peer = await Peer.connect(url, { token: process.env.PARLEY_TOKEN });
const room = await peer.join(roomName, { metadata: { name: "recording bot" } });
const recorder = await Recorder.start(room, { dir, maxDurationMs: Number(process.env.ROTATE_MS ?? 0) || undefined });

room.on("member-joined", (m) => console.log(`joined: ${m.id}`));
room.on("member-left", (m) => console.log(`left: ${m.id}`));
recorder.on("started", (f) => console.log(`recording: ${f.path}`));
recorder.on("finalized", (f) => console.log(`finalized: ${f.path} (${f.bytes} bytes, ${f.durationMs} ms)`));
recorder.on("error", (e) => console.error(`error: ${e.message}`));
console.log(`recording room "${roomName}" into ${dir}`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await recorder.stop();
  await peer.close();
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
