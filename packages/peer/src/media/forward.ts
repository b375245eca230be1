import { MediaStreamTrack } from "@parley/werift";

/**
 * A local track that carries what a received track carries, to send to other members (a relaying bot). Sequence
 * numbers and timestamps pass through; werift's sender sets SSRC and payload type per outgoing connection.
 * The relay follows the source: when the source ends, so does the relay.
 */
export function relayTrack(source: MediaStreamTrack): { track: MediaStreamTrack; stop: () => void } {
  const track = new MediaStreamTrack({ kind: source.kind, ...(source.codec ? { codec: source.codec } : {}) });
  // A copy per packet: werift's sender rewrites SSRC and payload type in place, and the received packet is shared
  // with every other subscriber (a recorder, another relay).
  const sub = source.onReceiveRtp.subscribe((rtp) => track.writeRtp(rtp.clone()));
  const stop = () => {
    sub.unSubscribe();
    track.stop();
  };
  return { track, stop };
}
