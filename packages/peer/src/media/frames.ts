import type { MediaStreamTrack, RtpPacket } from "@parley/werift";
import { DepacketizeCallback } from "@parley/werift/nonstandard";
import { PeerError } from "../errors.js";

export interface Frame {
  /** One encoded frame (VP8/VP9/AV1/H264 access unit, or one Opus packet). */
  data: Buffer;
  isKeyframe: boolean;
  /** RTP timestamp of the frame's packets. */
  rtpTimestamp: number;
}

const CODECS: Record<string, string> = {
  "video/vp8": "vp8",
  "video/vp9": "vp9",
  "video/h264": "h264",
  "video/av1": "av1",
  "video/av1x": "av1",
  "audio/opus": "opus",
};

/**
 * Depacketized frames of a received track (werift's depacketizer: reassembles frames across packets and drops
 * broken ones). Returns a function that stops. `onKeyframeNeeded` runs when a frame was lost and the picture cannot
 * be decoded until the next keyframe: send a PLI then (RemoteMember.requestKeyframe).
 */
export function onFrames(
  track: MediaStreamTrack,
  onFrame: (frame: Frame) => void,
  onKeyframeNeeded?: () => void,
): () => void {
  const mime = track.codec?.mimeType.toLowerCase();
  const codec = mime ? CODECS[mime] : undefined;
  if (!codec) throw new PeerError("INVALID_ARGUMENT", `no depacketizer for ${mime ?? "a track without a codec yet"}`);
  // A video frame spans several packets and ends at the one with the RTP marker bit (RFC 7741 §4.1, RFC 6184 §5.1);
  // without this werift emits a "frame" per packet.
  const depacketizer = new DepacketizeCallback(codec as never, {
    waitForKeyframe: track.kind === "video",
    ...(track.kind === "video" ? { isFinalPacketInSequence: (h: { marker: boolean }) => h.marker } : {}),
  });
  let lastTimestamp = 0;
  depacketizer.pipe((output) => {
    if (output.frame) {
      onFrame({ data: output.frame.data, isKeyframe: output.frame.isKeyframe, rtpTimestamp: lastTimestamp });
    }
  });
  const needKeyframe = onKeyframeNeeded ? depacketizer.onNeedKeyFrame.subscribe(() => onKeyframeNeeded()) : undefined;
  const sub = track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
    lastTimestamp = rtp.header.timestamp;
    // A copy: werift's depacketizer clears the packets it has used, and the same packet goes to every subscriber.
    depacketizer.input({ rtp: rtp.clone() });
  });
  return () => {
    sub.unSubscribe();
    needKeyframe?.unSubscribe();
    depacketizer.destroy();
  };
}
