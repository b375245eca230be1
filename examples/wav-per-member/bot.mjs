#!/usr/bin/env node
// A listening bot: joins a room and writes what each member says to its own 16 kHz mono WAV file — the input a
// speech-to-text engine takes. Lost packets become silence, so a file is as long as the member spoke.
//
//   node examples/wav-per-member/bot.mjs ws://127.0.0.1:8080/signal standup ./transcripts
//
// A file is finished when its member leaves; Ctrl-C (or SIGTERM) finishes every file and exits.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { AudioStream, Peer, WavWriter } from "@parley/peer";

const [url = "ws://127.0.0.1:8080/signal", roomName = "demo", dir = "transcripts"] = process.argv.slice(2);
mkdirSync(dir, { recursive: true });

const peer = await Peer.connect(url, { token: process.env.PARLEY_TOKEN });
const room = await peer.join(roomName, { receive: { audio: true, video: false }, metadata: { name: "wav bot" } });
/** One recording per member track: its decoder and its file. */
const open = new Map(); // member id → [{ stream, done }]

room.on("track", (member, track) => {
  if (track.kind !== "audio") return;
  const stream = new AudioStream(track, { sampleRate: 16_000, channels: 1 });
  const taken = open.get(member.id) ?? [];
  const path = join(dir, `${member.id}${taken.length ? `-${taken.length + 1}` : ""}.wav`);
  const done = (async () => {
    const wav = await WavWriter.create(path, 16_000, 1);
    console.log(`writing ${path}`);
    for await (const frame of stream) await wav.write(frame.data);
    await wav.close();
    const { lostMs } = stream.stats;
    console.log(`saved ${path} (${Math.round((wav.bytes / 32_000) * 1000)} ms, ${Math.round(lostMs)} ms lost)`);
  })();
  open.set(member.id, [...taken, { stream, done }]);
});

async function finish(memberId) {
  const recordings = open.get(memberId) ?? [];
  open.delete(memberId);
  for (const r of recordings) r.stream.close();
  await Promise.all(recordings.map((r) => r.done));
}

room.on("member-left", (member) => void finish(member.id));
room.on("error", (err) => console.error(`error: ${err.message}`));
console.log(`wav bot in room "${roomName}", writing to ${dir}`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await Promise.all([...open.keys()].map(finish));
  await peer.close();
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
