#!/usr/bin/env node
// A watching bot: joins a room and saves a PNG of each member's video every N seconds (moderation, thumbnails, test
// callers checking what they see). Frames are decoded in a worker thread; the bot asks for at most one a second.
//
//   node examples/snapshot-bot/bot.mjs ws://127.0.0.1:8080/signal demo ./snapshots [--every 5]
//
// PNGs are written with pngjs (a well-kept pure-JS encoder): no native build, no system library.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Peer, VideoStream } from "@parley/peer";
import pngjs from "pngjs";

const args = process.argv.slice(2);
const everyAt = args.indexOf("--every");
const every = everyAt >= 0 ? Number(args.splice(everyAt, 2)[1]) : 5;
if (!(every > 0)) {
  console.error("--every takes a number of seconds > 0");
  process.exit(2);
}
const [url = "ws://127.0.0.1:8080/signal", roomName = "demo", dir = "snapshots"] = args;
mkdirSync(dir, { recursive: true });

const peer = await Peer.connect(url, { token: process.env.PARLEY_TOKEN });
const room = await peer.join(roomName, { receive: { audio: false, video: true }, metadata: { name: "snapshot bot" } });
const streams = new Map(); // member id → VideoStream

room.on("track", (member, track) => {
  if (track.kind !== "video") return;
  const stream = new VideoStream(track, { member, format: "rgba", maxFps: 1 });
  streams.set(member.id, stream);
  void (async () => {
    let saved = Number.NEGATIVE_INFINITY;
    let count = 0;
    for await (const frame of stream) {
      if (frame.timestampMs - saved < every * 1000) continue;
      saved = frame.timestampMs;
      const png = new pngjs.PNG({ width: frame.width, height: frame.height });
      png.data.set(frame.data);
      const path = join(dir, `${member.id}-${String(++count).padStart(4, "0")}.png`);
      writeFileSync(path, pngjs.PNG.sync.write(png));
      console.log(`saved ${path} (${frame.width}×${frame.height})`);
    }
  })();
});
room.on("member-left", (member) => {
  streams.get(member.id)?.close();
  streams.delete(member.id);
});
room.on("error", (err) => console.error(`error: ${err.message}`));
console.log(`snapshot bot in room "${roomName}", a PNG per member every ${every} s into ${dir}`);

async function stop() {
  for (const s of streams.values()) s.close();
  await peer.close();
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
