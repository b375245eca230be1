// RemoteMember.renew() replaces a connection with a new one (what repairs a failed DTLS handshake; see
// dtls-failure.test.ts for that case). Between two bots: the far end follows, the room's track and channel come back
// on the new connection, and two renewals started at once settle on one connection.
import type { MediaStreamTrack } from "@parley/werift";
import { afterEach, expect, it } from "vitest";
import { AudioSource, type PeerError, type RemoteMember, type Room } from "../src/index.js";
import { loopbackPeer, signalServer, until } from "./helpers/room-fixture.js";

const sources: AudioSource[] = [];
afterEach(() => {
  for (const source of sources.splice(0)) source.close();
});

/** Everything one end of the pair saw, from the moment it joined. */
function watch(room: Room) {
  const seen = {
    errors: [] as PeerError[],
    tracks: [] as MediaStreamTrack[],
    messages: [] as string[],
    renewed: 0,
  };
  room.on("error", (err) => seen.errors.push(err));
  room.on("track", (_m, track) => seen.tracks.push(track));
  room.on("message", (_m, _c, data) => seen.messages.push(String(data)));
  room.on("member-renewed", () => seen.renewed++);
  return seen;
}

/** A speaker (an audio track and a channel "chat" for the room) and a listener, connected, audio arriving. */
async function pair() {
  const url = await signalServer();
  const speaker = await loopbackPeer(url);
  const listener = await loopbackPeer(url);
  const source = new AudioSource();
  sources.push(source);
  const sRoom = await speaker.join("r", { receive: { audio: false, video: false } });
  sRoom.addTrack(source.track);
  void sRoom.openChannel("chat");
  const said = watch(sRoom);
  const lRoom = await listener.join("r", { receive: { audio: true, video: false } });
  const heard = watch(lRoom);
  const chatOpen = () => sRoom.members.get(listener.id)?.channel("chat")?.readyState === "open";
  await until(() => heard.tracks.length === 1 && chatOpen(), 15_000, "a call");
  const toListener = sRoom.members.get(listener.id)!;
  const toSpeaker = lRoom.members.get(speaker.id)!;
  return { sRoom, lRoom, said, heard, toListener, toSpeaker };
}

/** Audio packets arrive on `track` (the newest one the listener got). */
async function audioArrives(track: MediaStreamTrack): Promise<void> {
  let packets = 0;
  const sub = track.onReceiveRtp.subscribe(() => packets++);
  try {
    await until(() => packets >= 10, 15_000, "audio on the new connection");
  } finally {
    sub.unSubscribe();
  }
}

async function chatWorks(sRoom: Room, heard: { messages: string[] }, toListener: RemoteMember, text: string) {
  await until(() => toListener.channel("chat")?.readyState === "open", 15_000, "chat on the new connection");
  await sRoom.send("chat", text);
  await until(() => heard.messages.includes(text), 15_000, `"${text}" received`);
}

it("renew() moves both ends to a new connection that carries the room's track and channel again", async () => {
  const { sRoom, said, heard, toListener, toSpeaker } = await pair();
  const first = toListener.pc;
  const firstFar = toSpeaker.pc;

  toListener.renew();
  await until(() => heard.tracks.length === 2, 15_000, "the track again");
  await audioArrives(heard.tracks[1]!);
  await chatWorks(sRoom, heard, toListener, "after renewal");
  // Both ends are on new connections and the old ones are closed.
  expect(toListener.pc).not.toBe(first);
  expect(toSpeaker.pc).not.toBe(firstFar);
  expect([first.connectionState, firstFar.connectionState]).toEqual(["closed", "closed"]);
  expect([toListener.connectionState, toSpeaker.connectionState]).toEqual(["connected", "connected"]);
  expect([said.renewed, heard.renewed]).toEqual([1, 1]);
  expect([...said.errors, ...heard.errors]).toEqual([]);
});

it("renewals started by both ends at once settle on one new connection", async () => {
  const { sRoom, said, heard, toListener, toSpeaker } = await pair();
  toListener.renew();
  toSpeaker.renew();
  await until(() => heard.tracks.length >= 2, 15_000, "the track again");
  await chatWorks(sRoom, heard, toListener, "after crossing renewals");
  await audioArrives(heard.tracks.at(-1)!);
  // The impolite end's renewal stands; the polite end dropped its own and followed it (two renewals on its side).
  const politeEnd = toListener.polite ? said : heard;
  const impoliteEnd = toListener.polite ? heard : said;
  expect([impoliteEnd.renewed, politeEnd.renewed]).toEqual([1, 2]);
  expect([toListener.connectionState, toSpeaker.connectionState]).toEqual(["connected", "connected"]);
  expect([...said.errors, ...heard.errors]).toEqual([]);
});
