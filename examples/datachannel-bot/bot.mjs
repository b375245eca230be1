#!/usr/bin/env node
// A data-channel bot: opens a "chat" channel to everyone in the room, greets each member, and answers "time" with
// the time; any other message is broadcast to the rest of the room ("who said what"). No media at all.
//
//   node examples/datachannel-bot/bot.mjs ws://127.0.0.1:8080/signal lobby
import { Peer } from "@parley/peer";

const [url = "ws://127.0.0.1:8080/signal", roomName = "lobby"] = process.argv.slice(2);
const peer = await Peer.connect(url, { token: process.env.PARLEY_TOKEN });
// receive: nothing — this bot asks no one for audio or video.
const room = await peer.join(roomName, { receive: { audio: false, video: false } });
await room.openChannel("chat");

room.on("datachannel", (member, channel) => console.log(`channel "${channel.label}" from ${member.id}`));
room.on("message", async (member, channel, data) => {
  const text = String(data);
  console.log(`${member.id.slice(0, 8)}: ${text}`);
  if (text === "time") {
    await channel.send(new Date().toISOString());
    return;
  }
  // Relay to everyone else with a chat channel open; send() waits if a member's buffer is full (backpressure).
  await Promise.all(
    [...room.members.values()]
      .filter((m) => m !== member)
      .map((m) => m.channel("chat")?.send(`${member.id.slice(0, 8)} says: ${text}`)),
  );
});
// Greet each member once, on its own "hello" channel, when the connection is first up.
const greeted = new WeakSet();
room.on("connection-state", async (member, state) => {
  if (state !== "connected" || greeted.has(member)) return;
  greeted.add(member);
  const channel = await member.openChannel("hello").catch(() => undefined);
  await channel?.send(`welcome, ${member.id.slice(0, 8)}`);
});
console.log(`datachannel bot in room "${roomName}"`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    await peer.close();
    process.exit(0);
  });
}
