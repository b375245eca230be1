#!/usr/bin/env node
// Plays a media file into a room, in real time, looping if asked: everyone in the room sees and hears it.
// Needs ffmpeg (it reads the file and paces it); VP8/Opus pass through, other codecs are converted.
//
//   node examples/play-file/play.mjs talk.webm ws://127.0.0.1:8080/signal demo [--loop]
import { FilePlayer, Peer } from "@parley/peer";

const [file, url = "ws://127.0.0.1:8080/signal", roomName = "demo"] = process.argv
  .slice(2)
  .filter((a) => !a.startsWith("--"));
const loop = process.argv.includes("--loop");
if (!file) {
  console.error("usage: play.mjs FILE [SIGNAL_URL] [ROOM] [--loop]");
  process.exit(2);
}
const peer = await Peer.connect(url, { token: process.env.PARLEY_TOKEN });
const room = await peer.join(roomName, { receive: { audio: false, video: false } });
const player = await FilePlayer.start(room, file, { loop });
console.log(`playing ${file} into room "${roomName}"${loop ? " (looping)" : ""}`);
player.on("ended", async () => {
  console.log("ended");
  await peer.close();
  process.exit(0);
});
player.on("error", async (err) => {
  console.error(err.message);
  await peer.close();
  process.exit(1);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    player.stop();
    await peer.close();
    process.exit(0);
  });
}
