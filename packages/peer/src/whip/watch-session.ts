import { MediaStreamTrack, type RTCRtpSender } from "@parley/werift";
import type { RemoteMember } from "../member.js";
import { ClientConnection } from "./client-connection.js";
import { joinRoom, KeyframeRequests } from "./room-link.js";
import { Session, type SessionParams } from "./session.js";
import { WhipError } from "./whip-error.js";

type Kind = "audio" | "video";

/**
 * A WHEP viewer: a member of the room that receives one member's tracks and sends them to the client. With a member
 * named, it watches that member and ends when it leaves; without, it watches the first member that sends media, and
 * moves on to the next one when that member leaves.
 */
export class WatchSession extends Session {
  readonly kind = "whep";
  private source: RemoteMember | undefined;

  static async open(
    params: SessionParams,
    roomName: string,
    memberId: string | undefined,
    offer: string,
  ): Promise<{ session: Session; sdp: string }> {
    const { peer, room } = await joinRoom(params.link, params.token, roomName, {
      metadata: { name: "WHEP viewer", whep: true },
    });
    const others = [...room.members.values()];
    const unknown =
      memberId !== undefined && !room.members.has(memberId)
        ? `room "${roomName}" has no member "${memberId}"`
        : others.length === 0
          ? `room "${roomName}" has nobody in it to watch`
          : undefined;
    if (unknown) {
      await peer.close();
      throw new WhipError(404, "NOT_FOUND", unknown);
    }
    // One outgoing track per kind the client asked for; the watched member's packets are written into them.
    const outgoing = new Map<Kind, MediaStreamTrack>();
    const senders: RTCRtpSender[] = [];
    let answered: Awaited<ReturnType<typeof ClientConnection.answer>>;
    try {
      answered = await ClientConnection.answer(offer, params.clientRtc, {
        offered: (pc) => {
          for (const transceiver of pc.getTransceivers()) {
            const kind = transceiver.kind as Kind;
            if ((kind !== "audio" && kind !== "video") || outgoing.has(kind)) continue;
            const track = new MediaStreamTrack({ kind });
            outgoing.set(kind, track);
            void transceiver.sender.replaceTrack(track);
            transceiver.setDirection("sendonly");
            senders.push(transceiver.sender);
          }
        },
      });
    } catch (err) {
      await peer.close();
      throw err;
    }
    const session = new WatchSession(params, roomName, peer, room, answered.connection);
    session.start(memberId, outgoing, senders);
    return { session, sdp: answered.sdp };
  }

  private start(memberId: string | undefined, outgoing: Map<Kind, MediaStreamTrack>, senders: RTCRtpSender[]): void {
    const keyframes = new KeyframeRequests(() => void this.source?.requestKeyframe().catch(() => {}));
    keyframes.hook(senders);
    /** Which incoming track feeds each outgoing one now (a member's track can be replaced on renegotiation). */
    const feeding = new Map<Kind, MediaStreamTrack>();
    const subs = new Map<MediaStreamTrack, { member: RemoteMember; unSubscribe: () => void }>();
    // Every member's tracks are heard; the first member whose RTP actually arrives becomes the source (a transceiver
    // can exist for a member that sends nothing, such as another viewer or a listening bot).
    const consider = (member: RemoteMember, track: MediaStreamTrack) => {
      const kind = track.kind as Kind;
      const out = outgoing.get(kind);
      if (!out || subs.has(track) || (memberId !== undefined && member.id !== memberId)) return;
      const sub = track.onReceiveRtp.subscribe((rtp) => {
        if (this.ended) return;
        this.source ??= member;
        if (this.source !== member) return;
        if (feeding.get(kind) !== track) {
          feeding.set(kind, track);
          if (kind === "video") keyframes.request(true); // the client's decoder starts at a keyframe
        }
        // A copy per packet: werift's sender rewrites SSRC and payload type in place (see relayTrack).
        out.writeRtp(rtp.clone());
      });
      subs.set(track, { member, unSubscribe: sub.unSubscribe });
    };
    this.room.on("track", consider);
    this.room.on("member-left", (member) => {
      for (const [track, sub] of subs) {
        if (sub.member !== member) continue;
        sub.unSubscribe();
        subs.delete(track);
      }
      if (member !== this.source) return;
      this.source = undefined;
      feeding.clear();
      if (memberId !== undefined) void this.end(`member ${memberId} left the room`);
    });
    // Tracks that arrived while the client's offer was being answered.
    for (const member of this.room.members.values()) {
      for (const t of member.pc.getTransceivers()) if (t.receiver.track) consider(member, t.receiver.track);
    }
    // Ask again once the client's connection is up: packets before that were lost.
    const up = this.connection.pc.connectionStateChange.subscribe((s) => {
      if (s === "connected") keyframes.request(true);
    });
    this.cleanups.push(
      () => up.unSubscribe(),
      () => keyframes.stop(),
      () => {
        for (const sub of subs.values()) sub.unSubscribe();
        subs.clear();
        for (const track of outgoing.values()) track.stop();
      },
    );
  }
}
