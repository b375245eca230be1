// The far end of the hostile-input tests (echo-peer.ts), in a worker thread so that a packet which hangs or crashes
// werift takes down this thread only and the test can say so: answers one offer, echoes every message on every
// channel it is given, and reports an uncaught error instead of dying silently.
import { createRequire } from "node:module";
import { parentPort, workerData } from "node:worker_threads";

// The ESM build, or with workerData "require" the CommonJS build (the patch changes both).
const { RTCPeerConnection } =
  workerData === "require" ? createRequire(import.meta.url)("@parley/werift") : await import("@parley/werift");

const pc = new RTCPeerConnection({
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ["127.0.0.1"],
  iceFilterCandidatePair: (pair) => pair.remoteCandidate.host === "127.0.0.1",
});
pc.ondatachannel = ({ channel }) => {
  channel.onmessage = ({ data }) => channel.send(`echo ${data}`);
};
parentPort.on("message", async (offer) => {
  await pc.setRemoteDescription(offer);
  await pc.setLocalDescription(await pc.createAnswer());
  const { type, sdp } = pc.localDescription;
  parentPort.postMessage({ answer: { type, sdp } });
});
