#!/usr/bin/env node
// An echo bot: everyone who joins the room sees and hears themselves, and the "chat" channel answers.
//
//   node examples/echo-bot/bot.mjs ws://127.0.0.1:8080/signal demo
import { echoRoom, Peer } from "@parley/peer";

const [url = "ws://127.0.0.1:8080/signal", roomName = "demo"] = process.argv.slice(2);
const peer = await Peer.connect(url, { token: process.env.PARLEY_TOKEN });
const room = await peer.join(roomName, { metadata: { name: "echo bot" } });
await room.openChannel("chat");
room.on("member-joined", (m) => console.log(`joined: ${m.id}`));
room.on("member-left", (m) => console.log(`left: ${m.id}`));
echoRoom(room, console.log);
console.log(`echo bot in room "${roomName}"`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    await peer.close();
    process.exit(0);
  });
}
