import { SignalError } from "@parley/signal";
import type { MediaStreamTrack, RTCPeerConnection, RTCRtpSender } from "@parley/werift";
import { Peer, type PeerOptions } from "../peer.js";
import type { Room, RoomOptions } from "../room.js";
import { WhipError } from "./whip-error.js";

/** What a WHIP/WHEP session needs to take part in a room: where signalling is, and how its peer is set up. */
export interface RoomLinkOptions {
  signalUrl: string;
  /** Peer options for the room side (ICE servers, werift settings); the token comes from the request. */
  peer: Omit<PeerOptions, "token">;
}

/**
 * Joins `room` as a member of its own, with the client's bearer token: the signalling server checks it and the room
 * grant exactly as for any client. Its refusals become HTTP statuses.
 */
export async function joinRoom(
  options: RoomLinkOptions,
  token: string | undefined,
  room: string,
  roomOptions: RoomOptions,
): Promise<{ peer: Peer; room: Room }> {
  let peer: Peer | undefined;
  try {
    peer = await Peer.connect(options.signalUrl, {
      ...options.peer,
      ...(token ? { token } : {}),
    });
    return { peer, room: await peer.join(room, roomOptions) };
  } catch (err) {
    await peer?.close();
    throw toHttpError(err);
  }
}

/** Maps a signalling refusal to the status a WHIP/WHEP client understands. */
function toHttpError(err: unknown): WhipError {
  if (!(err instanceof SignalError)) {
    return new WhipError(502, "SIGNAL_UNAVAILABLE", `signalling failed: ${(err as Error).message}`);
  }
  const message = `signalling refused: ${err.message}`;
  switch (err.code) {
    case "UNAUTHORIZED":
    case "SESSION_EXPIRED":
      return new WhipError(401, "UNAUTHORIZED", message, { "www-authenticate": 'Bearer realm="parley"' });
    case "FORBIDDEN":
      return new WhipError(403, "FORBIDDEN", message);
    case "BAD_MESSAGE":
      return new WhipError(400, "BAD_ROOM", message);
    case "ROOM_FULL":
      return new WhipError(409, "ROOM_FULL", message);
    case "TOO_MANY_ROOMS":
    case "RATE_LIMITED":
    case "OVERLOADED":
    case "UNAVAILABLE":
      return new WhipError(503, "SIGNAL_UNAVAILABLE", message, { "retry-after": "5" });
    default:
      return new WhipError(502, "SIGNAL_UNAVAILABLE", message);
  }
}

/** Senders in the room's connections that carry one of `tracks` (to hear their keyframe requests). */
export function sendersOf(room: Room, tracks: ReadonlySet<MediaStreamTrack>): RTCRtpSender[] {
  const senders: RTCRtpSender[] = [];
  for (const member of room.members.values()) {
    for (const sender of member.pc.getSenders()) if (sender.track && tracks.has(sender.track)) senders.push(sender);
  }
  return senders;
}

/** Calls `onPli` when any of these senders' receivers asks for a keyframe; each sender is hooked once. */
export class KeyframeRequests {
  private readonly hooked = new WeakSet<RTCRtpSender>();
  private readonly subs: Array<{ unSubscribe: () => void }> = [];
  private last = 0;

  /** At most one request per `minIntervalMs`: a room of viewers asking at once is one keyframe, not a storm. */
  constructor(
    private readonly onPli: () => void,
    private readonly minIntervalMs = 500,
  ) {}

  hook(senders: Iterable<RTCRtpSender>): void {
    for (const sender of senders) {
      if (this.hooked.has(sender)) continue;
      this.hooked.add(sender);
      this.subs.push(sender.onPictureLossIndication.subscribe(() => this.request()));
    }
  }

  /** `force` skips the interval: a new receiver starting needs its keyframe now, whatever was asked just before. */
  request(force = false): void {
    const now = Date.now();
    if (!force && now - this.last < this.minIntervalMs) return;
    this.last = now;
    this.onPli();
  }

  stop(): void {
    for (const sub of this.subs) sub.unSubscribe();
    this.subs.length = 0;
  }
}

/** Asks the client for a keyframe on every video track it sends us. */
export function requestClientKeyframe(pc: RTCPeerConnection): void {
  for (const t of pc.getTransceivers()) {
    const ssrc = t.receiver.track?.ssrc;
    if (t.kind === "video" && ssrc !== undefined) void t.receiver.sendRtcpPLI(ssrc).catch(() => {});
  }
}
