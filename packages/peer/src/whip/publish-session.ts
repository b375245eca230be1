import type { MediaStreamTrack } from "@parley/werift";
import { relayTrack } from "../media/forward.js";
import { ClientConnection } from "./client-connection.js";
import { joinRoom, KeyframeRequests, requestClientKeyframe, sendersOf } from "./room-link.js";
import { Session, type SessionParams } from "./session.js";

/**
 * A WHIP publisher (RFC 9725): a member of the room whose tracks are what the client sends us. Browsers and bots in
 * the room receive them as from anyone; their keyframe requests reach the client as PLIs.
 */
export class PublishSession extends Session {
  readonly kind = "whip";

  static async open(
    params: SessionParams,
    roomName: string,
    offer: string,
  ): Promise<{ session: Session; sdp: string }> {
    const { peer, room } = await joinRoom(params.link, params.token, roomName, {
      metadata: { name: "WHIP publisher", whip: true },
      receive: { audio: false, video: false },
    });
    const relays = new Set<MediaStreamTrack>();
    const stops: Array<() => void> = [];
    let answered: Awaited<ReturnType<typeof ClientConnection.answer>>;
    try {
      answered = await ClientConnection.answer(offer, params.clientRtc, {
        created: (pc) => {
          pc.ontrack = ({ track }) => {
            const relay = relayTrack(track);
            relays.add(relay.track);
            stops.push(relay.stop);
            room.addTrack(relay.track);
          };
        },
      });
    } catch (err) {
      for (const stop of stops) stop();
      await peer.close();
      throw err;
    }
    const session = new PublishSession(params, roomName, peer, room, answered.connection);
    const keyframes = new KeyframeRequests(() => requestClientKeyframe(answered.connection.pc));
    const hook = () => keyframes.hook(sendersOf(room, relays));
    hook();
    // A member that connects gets a keyframe at once, not at the encoder's next one (Chromium sends them on request).
    room.on("connection-state", (_member, state) => {
      hook();
      if (state === "connected") keyframes.request(true);
    });
    session.cleanups.push(
      () => keyframes.stop(),
      () => {
        for (const stop of stops) stop();
      },
    );
    return { session, sdp: answered.sdp };
  }
}
