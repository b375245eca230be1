// The echo behaviour, shared by the demo and the echo-bot example: every member gets its own audio and video sent
// back (and only its own), and a "chat" channel that answers each message.
import { relayTrack } from "@parley/peer";

/** Makes `room` an echo room. Returns a function that stops echoing. */
export function echo(room, { log = () => {} } = {}) {
  const relays = [];
  room.on("track", (member, track) => {
    const relay = relayTrack(track);
    relays.push(relay);
    member.addTrack(relay.track);
    // The echo starts at a keyframe, and again whenever the member's decoder loses one.
    void member.requestKeyframe();
    log(`echoing ${track.kind} back to ${member.id.slice(0, 8)}`);
  });
  room.on("message", (member, channel, data) => {
    if (channel.label !== "chat") return;
    channel.send(`echo: ${String(data)}`).catch(() => {});
    log(`chat from ${member.id.slice(0, 8)}: ${String(data)}`);
  });
  room.on("member-joined", (m) => log(`joined: ${m.id.slice(0, 8)}`));
  room.on("member-left", (m) => log(`left: ${m.id.slice(0, 8)}`));
  return () => {
    for (const r of relays) r.stop();
  };
}
