// A minimal WHIP/WHEP client written from RFC 9725 (not from our server): POST the offer with its candidates, set the
// 201's answer, DELETE the Location. werift is the WebRTC stack; loopback host candidates only.
import { type MediaStreamTrack, RTCPeerConnection } from "@parley/werift";

const LOOPBACK = {
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ["127.0.0.1"],
  iceFilterCandidatePair: (pair: { remoteCandidate: { host: string } }) => pair.remoteCandidate.host === "127.0.0.1",
} as const;

export interface WhipClientSession {
  pc: RTCPeerConnection;
  response: Response;
  location: string;
  answer: string;
  /** DELETEs the session and closes the connection. */
  stop: () => Promise<void>;
}

async function negotiate(pc: RTCPeerConnection, endpoint: string, token?: string): Promise<WhipClientSession> {
  await pc.setLocalDescription(await pc.createOffer());
  const response = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/sdp", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: pc.localDescription!.sdp,
  });
  if (response.status !== 201) {
    await pc.close();
    throw new Error(`POST ${endpoint}: ${response.status} ${await response.text()}`);
  }
  const answer = await response.text();
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  const location = new URL(response.headers.get("location")!, endpoint).toString();
  return {
    pc,
    response,
    location,
    answer,
    stop: async () => {
      await fetch(location, { method: "DELETE", headers: token ? { authorization: `Bearer ${token}` } : {} });
      await pc.close();
    },
  };
}

/** Publishes `tracks` (sendonly) to a WHIP endpoint. */
export function whipPublish(endpoint: string, tracks: MediaStreamTrack[], token?: string): Promise<WhipClientSession> {
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", ...LOOPBACK });
  for (const track of tracks) pc.addTransceiver(track, { direction: "sendonly" });
  return negotiate(pc, endpoint, token);
}

/** Watches a WHEP endpoint: recvonly audio and video; `onTrack` gets what arrives. */
export function whepWatch(
  endpoint: string,
  onTrack: (track: MediaStreamTrack) => void,
  token?: string,
): Promise<WhipClientSession> {
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", ...LOOPBACK });
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  pc.ontrack = ({ track }) => onTrack(track);
  return negotiate(pc, endpoint, token);
}
