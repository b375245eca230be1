import type { MediaStreamTrack, RTCRtpSender } from "@parley/werift";

/** RTCP payload-specific feedback FMT of a Full Intra Request (RFC 5104 §4.3.1); werift reports only PLI itself. */
const FIR_FMT = 4;

const listeners = new WeakMap<MediaStreamTrack, () => void>();

/** Calls `listener` whenever a member receiving `track` asks for a keyframe (PLI or FIR). Returns a function that stops. */
export function onKeyframeRequest(track: MediaStreamTrack, listener: () => void): () => void {
  listeners.set(track, listener);
  return () => {
    if (listeners.get(track) === listener) listeners.delete(track);
  };
}

/** Routes a sender's PLIs and FIRs to its track's listener (called for every sender a member adds). */
export function forwardKeyframeRequests(sender: RTCRtpSender): void {
  const notify = () => {
    const track = sender.track;
    if (track) listeners.get(track)?.();
  };
  sender.onPictureLossIndication.subscribe(notify);
  sender.onRtcp.subscribe((packet) => {
    const feedback = (packet as { type?: number; feedback?: { count?: number } }).feedback;
    if ((packet as { type?: number }).type === 206 && feedback?.count === FIR_FMT) notify();
  });
}
