// A bot that uses every long-lived thing Parley has — a TURN server with relay threads, a signalling server, two
// peers relayed through TURN, a data channel, a file played into the room and a recorder — then closes them all and
// does NOT call process.exit: the process must end by itself (test/interop/clean-exit.test.ts). If it is still
// alive a second later, it says what keeps it alive.
import { FilePlayer, Peer, Recorder } from "@parley/peer";
import { createSignalServer } from "@parley/signal";
import { createTurnServer } from "@parley/turn";

const [clip, dir] = process.argv.slice(2);
const turn = await createTurnServer({
  listeningPort: 0,
  users: ["bot:secret"],
  peerPolicy: { allowLoopback: true },
  relayThreads: 2,
}).listen();
const turnUrl = `turn:127.0.0.1:${turn.addresses[0].port}?transport=udp`;
const signal = createSignalServer({ iceServers: [{ urls: turnUrl, username: "bot", credential: "secret" }] });
const url = `ws://127.0.0.1:${await signal.listen(0)}`;
const rtc = { iceUseIpv6: false, iceAdditionalHostAddresses: ["127.0.0.1"], iceTransportPolicy: "relay" };
const recording = await Peer.connect(url, { rtc });
const sender = await Peer.connect(url, { rtc });
const recordingRoom = await recording.join("r");
const recorder = await Recorder.start(recordingRoom, { dir });
const finalized = new Promise((resolve) => recorder.once("finalized", resolve));
const senderRoom = await sender.join("r");
const channel = await senderRoom.members.get(recording.id).openChannel("chat");
await channel.send("hello");
const player = await FilePlayer.start(senderRoom, clip);
await new Promise((resolve) => setTimeout(resolve, 2500));
await player.stop();
await recorder.stop();
await finalized;
await Promise.all([recording.close(), sender.close()]);
await signal.close();
await turn.close();
console.log(`closed ${Date.now()}`);
setTimeout(() => console.log(`still alive: ${process.getActiveResourcesInfo().join(", ")}`), 1000).unref();
