#!/usr/bin/env node
// Speaks a WAV file (16-bit PCM, any rate, mono or stereo) into a room in real time: a bot that talks, with no
// ffmpeg needed — the PCM is Opus-encoded in process. Exits when the file has been played.
//
//   node examples/play-wav/play.mjs greeting.wav ws://127.0.0.1:8080/signal demo [--loop]
import { AudioSource, Peer, WavReader } from "@parley/peer";

const [file, url = "ws://127.0.0.1:8080/signal", roomName = "demo"] = process.argv
  .slice(2)
  .filter((a) => !a.startsWith("--"));
const loop = process.argv.includes("--loop");
if (!file) {
  console.error("usage: play.mjs FILE.wav [SIGNAL_URL] [ROOM] [--loop]");
  process.exit(2);
}

let wav;
try {
  wav = await WavReader.open(file);
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
const peer = await Peer.connect(url, { token: process.env.PARLEY_TOKEN });
const room = await peer.join(roomName, { receive: { audio: false, video: false } });
const source = new AudioSource({ sampleRate: wav.sampleRate, channels: wav.channels });
room.addTrack(source.track);

async function stop(code) {
  source.close();
  await peer.close();
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => stop(0));

// Start speaking once someone can hear it (a connection is up), so the first words are not spoken to no one.
await new Promise((resolve) => room.on("connection-state", (_m, state) => state === "connected" && resolve()));
console.log(
  `playing ${file} (${wav.sampleRate} Hz, ${wav.channels} ch, ${Math.round(wav.durationMs)} ms) into "${roomName}"`,
);
do {
  // write() waits while 200 ms are queued: the file is read as fast as it is spoken, never all at once.
  for await (const pcm of wav.samples()) await source.write(pcm);
  if (loop) wav = await WavReader.open(file);
} while (loop);
while (source.queuedMs > 0) await new Promise((resolve) => setTimeout(resolve, 20));
console.log("ended");
await stop(0);
