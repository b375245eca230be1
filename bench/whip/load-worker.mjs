// The load: K WHIP publishers (werift clients, one room each) sending ~1 Mbps VP8 + Opus, and one WHEP viewer per
// publisher counting what arrives. Prints "ready" once every viewer is connected, then, after SECONDS of media,
// "result <json>" with the frames and packets each viewer received against those sent.
// Usage: node load-worker.mjs BASE_URL K SECONDS
import { MediaStreamTrack, RTCPeerConnection } from "@parley/werift";
import { encodeOnce, replay } from "../recording/rtp-source.mjs";

const [base, k, seconds] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const LOOPBACK = { iceUseIpv6: false, iceAdditionalHostAddresses: ["127.0.0.1"], bundlePolicy: "max-bundle" };
const source = await encodeOnce();

async function post(pc, url) {
  await pc.setLocalDescription(await pc.createOffer());
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/sdp" },
    body: pc.localDescription.sdp,
  });
  if (res.status !== 201) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
  await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
}
const connected = (pc) =>
  new Promise((resolve) => {
    if (pc.connectionState === "connected") return resolve();
    pc.connectionStateChange.subscribe((s) => s === "connected" && resolve());
  });

const publishers = [];
const viewers = [];
for (let i = 0; i < k; i++) {
  const pc = new RTCPeerConnection(LOOPBACK);
  const tracks = { video: new MediaStreamTrack({ kind: "video" }), audio: new MediaStreamTrack({ kind: "audio" }) };
  pc.addTransceiver(tracks.video, { direction: "sendonly" });
  pc.addTransceiver(tracks.audio, { direction: "sendonly" });
  await post(pc, `${base}/whip/bench-${i}`);
  publishers.push({ pc, tracks });
}
await Promise.all(publishers.map((p) => connected(p.pc)));
for (let i = 0; i < k; i++) {
  const pc = new RTCPeerConnection(LOOPBACK);
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  const viewer = { pc, frames: new Set(), videoPackets: 0, audioPackets: 0, counting: false };
  pc.ontrack = ({ track }) =>
    track.onReceiveRtp.subscribe((rtp) => {
      if (!viewer.counting) return;
      if (track.kind === "video") {
        viewer.videoPackets++;
        viewer.frames.add(rtp.header.timestamp);
      } else viewer.audioPackets++;
    });
  await post(pc, `${base}/whep/bench-${i}`);
  viewers.push(viewer);
}
await Promise.all(viewers.map((v) => connected(v.pc)));
await new Promise((r) => setTimeout(r, 2000)); // the room-side connections of each viewer come up
console.log("ready");
for (const v of viewers) v.counting = true;
const sentFrames = await replay(
  source,
  publishers.map((p) => p.tracks),
  seconds,
);
await new Promise((r) => setTimeout(r, 1000)); // what is still on its way
const loops = Math.ceil((seconds * 1000) / source.loopMs);
console.log(
  `result ${JSON.stringify({
    sentFrames,
    sentVideoPackets: source.video.packets.length * loops,
    sentAudioPackets: source.audio.packets.length * loops,
    viewers: viewers.map((v) => ({ frames: v.frames.size, video: v.videoPackets, audio: v.audioPackets })),
  })}`,
);
for (const p of [...publishers, ...viewers]) await p.pc.close();
process.exit(0);
