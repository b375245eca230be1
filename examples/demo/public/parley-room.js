// Joins a Parley room from a browser page, the way @parley/peer does from Node: one RTCPeerConnection per member,
// perfect negotiation (polite side decided from the member ids), trickle ICE, the member who joins later offers
// first (or sends "restart" to ask the other side to, when it has nothing to send), ICE restart on failure.
// Used by the demo page and by the interop tests. Load it beside the @parley/signal browser bundle.
import { SignalClient } from "./parley-signal.js";

/**
 * @param {object} o
 * @param {string} o.url signalling server URL
 * @param {string} o.room room name
 * @param {string} [o.token]
 * @param {Record<string, unknown>} [o.metadata]
 * @param {MediaStream} [o.stream] camera/mic to send to every member
 * @param {RTCIceTransportPolicy} [o.iceTransportPolicy]
 * @param {(member: {id: string, pc: RTCPeerConnection}) => void} [o.onMember]
 * @param {(memberId: string, event: RTCTrackEvent) => void} [o.onTrack]
 * @param {(memberId: string, channel: RTCDataChannel) => void} [o.onChannel] a channel the member opened, handed
 *   over once the browser can send on it (see handOver)
 * @param {(memberId: string) => void} [o.onLeave]
 */
export async function joinRoom(o) {
  const client = await SignalClient.connect(o.url, o.token ? { token: o.token } : {});
  const members = new Map();
  let iceServers = client.welcome.iceServers;
  client.on("ice-servers", (servers) => {
    iceServers = servers;
  });

  function memberFor(id, newcomer) {
    let m = members.get(id);
    if (m) return m;
    const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: o.iceTransportPolicy ?? "all" });
    m = {
      id,
      pc,
      polite: client.sessionId > id,
      makingOffer: false,
      ignoreOffer: false,
      queue: Promise.resolve(),
      outfitted: false,
    };
    members.set(id, m);
    const send = (kind, payload) => client.signal(o.room, id, kind, payload).catch(() => {});
    pc.onnegotiationneeded = async () => {
      try {
        m.makingOffer = true;
        await pc.setLocalDescription();
        send(pc.localDescription.type, pc.localDescription.toJSON());
      } finally {
        m.makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) =>
      candidate ? send("candidate", candidate.toJSON()) : send("end-of-candidates", null);
    pc.ontrack = (event) => o.onTrack?.(id, event);
    pc.ondatachannel = ({ channel }) => handOver(pc, channel, () => o.onChannel?.(id, channel));
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed") pc.restartIce();
    };
    m.outfit = () => {
      if (m.outfitted) return;
      m.outfitted = true;
      for (const track of o.stream?.getTracks() ?? []) pc.addTrack(track, o.stream);
    };
    if (newcomer) {
      m.outfit();
      if (!o.stream) send("restart", null); // nothing to offer: ask them to go first
    }
    o.onMember?.(m);
    return m;
  }

  // Perfect negotiation (webrtc-pc §10.7), one signal at a time per member.
  async function onSignal(m, kind, payload) {
    const { pc } = m;
    if (kind === "offer" || kind === "answer") {
      const offerCollision = kind === "offer" && (m.makingOffer || pc.signalingState !== "stable");
      m.ignoreOffer = !m.polite && offerCollision;
      if (m.ignoreOffer) return;
      await pc.setRemoteDescription(payload);
      if (kind === "offer") {
        await pc.setLocalDescription();
        client.signal(o.room, m.id, "answer", pc.localDescription.toJSON()).catch(() => {});
      }
      if (pc.signalingState === "stable") m.outfit();
    } else if (kind === "candidate" || kind === "end-of-candidates") {
      try {
        await pc.addIceCandidate(payload ?? undefined);
      } catch (err) {
        if (!m.ignoreOffer) throw err;
      }
    } else if (kind === "restart") {
      if (pc.remoteDescription) pc.restartIce();
      else m.outfit();
    }
  }

  client.on("signal", (msg) => {
    if (msg.room !== o.room) return;
    const m = memberFor(msg.from, false);
    m.queue = m.queue.then(() => onSignal(m, msg.kind, msg.payload)).catch((err) => console.error("negotiation", err));
  });
  client.on("member-joined", (room, member) => room === o.room && memberFor(member.id, false));
  client.on("member-left", (room, id) => {
    if (room !== o.room) return;
    members.get(id)?.pc.close();
    members.delete(id);
    o.onLeave?.(id);
  });
  client.on("session-replaced", () => {
    for (const [id, m] of members) {
      m.pc.close();
      o.onLeave?.(id);
    }
    members.clear();
    for (const member of client.rooms.get(o.room)?.members.values() ?? []) memberFor(member.id, true);
  });

  const state = await client.join(o.room, o.metadata);
  for (const member of state.members.values()) memberFor(member.id, true);
  return {
    client,
    members,
    close() {
      for (const m of members.values()) m.pc.close();
      client.close();
    },
  };
}

/**
 * Gives the page a channel the far end opened, once the browser can really send on it. Chromium announces such a
 * channel (readyState already "open") before its network thread has finished setting it up — the DCEP ACK is not sent
 * yet — and a send() made in that window fails inside Chromium ("Send failed INVALID_STATE" in its log) while the
 * page sees no error: the message is simply lost. Under CPU load this hit about 1 page in 20 that said hello from
 * ondatachannel. getStats() is queued behind that setup on the same browser threads, so once it settles, sends go
 * through. Messages that arrive in the meantime are held and replayed to the page's handlers, in order.
 */
function handOver(pc, channel, deliver) {
  const held = [];
  const hold = (event) => held.push(event.data);
  channel.addEventListener("message", hold);
  pc.getStats()
    .catch(() => {})
    .then(() => {
      channel.removeEventListener("message", hold);
      deliver();
      for (const data of held) channel.dispatchEvent(new MessageEvent("message", { data }));
    });
}
