// A WHIP publisher in a process of its own (werift, loopback), for tests that kill it: POSTs an offer to the URL in
// argv[2], sets the answer, and prints "connected" once ICE and DTLS are up. Sends nothing; stays until killed.
import { MediaStreamTrack, RTCPeerConnection } from "@parley/werift";

const pc = new RTCPeerConnection({
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ["127.0.0.1"],
  bundlePolicy: "max-bundle",
});
pc.addTransceiver(new MediaStreamTrack({ kind: "video" }), { direction: "sendonly" });
await pc.setLocalDescription(await pc.createOffer());
const res = await fetch(process.argv[2], {
  method: "POST",
  headers: { "content-type": "application/sdp" },
  body: pc.localDescription.sdp,
});
if (res.status !== 201) {
  console.log(`refused ${res.status}`);
  process.exit(1);
}
await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
pc.connectionStateChange.subscribe((state) => state === "connected" && console.log("connected"));
