// Peer connections for werift tests: host candidates on 127.0.0.1 only, and every connection a test made closed
// after it.
import { RTCPeerConnection } from "@parley/werift";
import { afterEach } from "vitest";

export const LOOPBACK = {
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ["127.0.0.1"],
  iceFilterCandidatePair: (pair: { remoteCandidate: { host: string } }) => pair.remoteCandidate.host === "127.0.0.1",
} as const;

/** Call at the top of a test file: returns a maker of loopback connections, each closed after its test. */
export function loopbackPeers(): () => RTCPeerConnection {
  const open: RTCPeerConnection[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((pc) => pc.close()));
  });
  return () => {
    const pc = new RTCPeerConnection(LOOPBACK);
    open.push(pc);
    return pc;
  };
}

/** One offer/answer exchange from `offerer` to `answerer`. */
export async function offerAnswer(offerer: RTCPeerConnection, answerer: RTCPeerConnection): Promise<void> {
  await offerer.setLocalDescription(await offerer.createOffer());
  await answerer.setRemoteDescription(offerer.localDescription!);
  await answerer.setLocalDescription(await answerer.createAnswer());
  await offerer.setRemoteDescription(answerer.localDescription!);
}
