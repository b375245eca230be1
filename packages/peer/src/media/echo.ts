import type { Room } from "../room.js";
import { relayTrack } from "./forward.js";

/**
 * Makes a room an echo room: every member gets its own audio and video back (and only its own), and messages on a
 * "chat" channel are answered with "echo: …". Returns a function that stops echoing.
 */
export function echoRoom(room: Room, log: (line: string) => void = () => {}): () => void {
  const relays: Array<{ stop: () => void }> = [];
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
  return () => {
    for (const relay of relays) relay.stop();
  };
}
