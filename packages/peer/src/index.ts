export { Channel, type ChannelOptions, MAX_MESSAGE_BYTES } from "./channel.js";
export { PeerError, type PeerErrorCode } from "./errors.js";
export { type IceServer, icePlans, toWeriftIceServers } from "./ice-servers.js";
export { AudioSource, type AudioSourceOptions, type AudioSourceStats } from "./media/audio-source.js";
export { type AudioFrame, AudioStream, type AudioStreamOptions, type AudioStreamStats } from "./media/audio-stream.js";
export { echoRoom } from "./media/echo.js";
export { relayTrack } from "./media/forward.js";
export { type Frame, onFrames } from "./media/frames.js";
export { FilePlayer, type PlayOptions } from "./media/play-file.js";
export { RtpInput, type RtpInputOptions } from "./media/rtp-input.js";
export { i420ToRgba, type PixelFormat, rgbaToI420, type VideoFrame } from "./media/video-frame.js";
export { VideoSource, type VideoSourceOptions, type VideoSourceStats } from "./media/video-source.js";
export {
  type DecodedFrame,
  VideoStream,
  type VideoStreamOptions,
  type VideoStreamStats,
} from "./media/video-stream.js";
export { type WavInfo, WavReader, WavWriter } from "./media/wav.js";
export { type ConnectionState, RemoteMember } from "./member.js";
export { Peer, type PeerEvents, type PeerOptions } from "./peer.js";
export { Recorder, type RecorderEvents, type RecordingFile, type RecordingOptions } from "./record/recorder.js";
export { Room, type RoomEvents, type RoomOptions } from "./room.js";
export type { MemberStats } from "./stats.js";
export { formatSdpFrag, parseSdpFrag, type SdpFrag } from "./whip/sdp-frag.js";
export type { Session as WhipSession } from "./whip/session.js";
export { WhipError, type WhipErrorCode } from "./whip/whip-error.js";
export { createWhipServer, type WhipOptions, WhipServer, type WhipServerEvents } from "./whip/whip-server.js";
