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
  etag: string;
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
    etag: response.headers.get("etag")!,
    stop: async () => {
      await fetch(location, { method: "DELETE", headers: token ? { authorization: `Bearer ${token}` } : {} });
      await pc.close();
    },
  };
}

/**
 * Publishes `tracks` (sendonly) to a WHIP endpoint. `rtc` replaces the loopback-only ICE settings (a CLI server
 * gathers the host's own addresses, not 127.0.0.1).
 */
export function whipPublish(
  endpoint: string,
  tracks: MediaStreamTrack[],
  token?: string,
  rtc: object = LOOPBACK,
): Promise<WhipClientSession> {
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", ...rtc });
  for (const track of tracks) pc.addTransceiver(track, { direction: "sendonly" });
  return negotiate(pc, endpoint, token);
}

/** Watches a WHEP endpoint: recvonly audio and video; `onTrack` gets what arrives. */
export function whepWatch(
  endpoint: string,
  onTrack: (track: MediaStreamTrack) => void,
  token?: string,
  rtc: object = LOOPBACK,
): Promise<WhipClientSession> {
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", ...rtc });
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  pc.ontrack = ({ track }) => onTrack(track);
  return negotiate(pc, endpoint, token);
}

/**
 * An ICE restart as RFC 9725 §4.3.2 has it: new local credentials and candidates PATCHed with If-Match, and the 200's
 * sdpfrag (the server's new credentials and candidates) applied to the remote description. Returns the new ETag.
 */
export async function restartIce(session: WhipClientSession, token?: string): Promise<string> {
  const { pc } = session;
  const offer = await pc.createOffer({ iceRestart: true });
  await pc.setLocalDescription(offer);
  const local = pc.localDescription!.sdp;
  const mid = /^a=mid:(\S+)/m.exec(local)![1];
  const frag = [
    /^a=ice-ufrag:.*$/m.exec(local)![0],
    /^a=ice-pwd:.*$/m.exec(local)![0],
    "m=audio 9 RTP/AVP 0",
    `a=mid:${mid}`,
    ...[...local.matchAll(/^a=candidate:.*$/gm)].map((m) => m[0]),
    "a=end-of-candidates",
    "",
  ].join("\r\n");
  const response = await fetch(session.location, {
    method: "PATCH",
    headers: {
      "content-type": "application/trickle-ice-sdpfrag",
      "if-match": session.etag,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: frag,
  });
  if (response.status !== 200) throw new Error(`ICE restart: ${response.status} ${await response.text()}`);
  const answerFrag = await response.text();
  const ufrag = /^a=ice-ufrag:(\S+)/m.exec(answerFrag)![1];
  const pwd = /^a=ice-pwd:(\S+)/m.exec(answerFrag)![1];
  const candidates = [...answerFrag.matchAll(/^a=candidate:.*$/gm)].map((m) => m[0]);
  // The last answer with the new credentials, and the new candidates in every m-section.
  const answer = session.answer
    .replace(/^a=ice-ufrag:.*$/gm, `a=ice-ufrag:${ufrag}`)
    .replace(/^a=ice-pwd:.*$/gm, `a=ice-pwd:${pwd}`)
    .replace(/^a=candidate:.*\r\n/gm, "")
    .replace(/^(m=.*\r\n(?:c=.*\r\n)?)/gm, `$1${candidates.map((c) => `${c}\r\n`).join("")}`);
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  session.answer = answer;
  session.etag = response.headers.get("etag")!;
  return session.etag;
}
