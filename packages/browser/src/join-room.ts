// Joins a Parley room from a browser page, the way @parley/peer does from Node (PROTOCOL.md, "Peer conventions"):
// one RTCPeerConnection per member, perfect negotiation (the polite side decided from the member ids), trickle ICE,
// the member who joins later offers first (or sends "restart" to ask the other side to, when it has nothing to send),
// ICE restart on failure, and a new connection when the DTLS handshake failed (which an ICE restart cannot mend).
import { type SignalClient as Client, SignalClient, type SignalKind } from "@parley/signal/client";
import { RoomClientError } from "./errors.js";
import { handOverChannel } from "./hand-over.js";

export interface JoinRoomOptions {
  /** The signalling server, ws:// or wss://. */
  url: string;
  room: string;
  token?: string;
  metadata?: Record<string, unknown>;
  /** Camera and microphone (or any stream) to send to every member. */
  stream?: MediaStream;
  iceTransportPolicy?: RTCIceTransportPolicy;
  onMember?: (member: RoomMember) => void;
  onTrack?: (memberId: string, event: RTCTrackEvent) => void;
  /** A channel the member opened, handed over once the browser can send on it (see handOverChannel). */
  onChannel?: (memberId: string, channel: RTCDataChannel) => void;
  onLeave?: (memberId: string) => void;
  /**
   * The connection to a member was replaced by a new one (`member.pc` is new; the old one's channels closed): its
   * tracks and channels come again through onTrack and onChannel.
   */
  onRenewed?: (member: RoomMember) => void;
}

export interface RoomMember {
  readonly id: string;
  readonly pc: RTCPeerConnection;
}

export interface RoomSession {
  readonly client: Client;
  readonly members: ReadonlyMap<string, RoomMember>;
  /**
   * Replaces the connection to a member with a new one (new ICE, new DTLS handshake), as joinRoom does by itself when
   * a DTLS handshake fails; the member follows (PROTOCOL.md, `restart` with `renew`) and `onRenewed` is called.
   * Throws a RoomClientError (`UNKNOWN_MEMBER`) for an id that is not in the room.
   */
  renew(memberId: string): void;
  /** Closes every peer connection and the signalling client. The page's own stream is left to the page. */
  close(): void;
}

interface MemberState extends RoomMember {
  pc: RTCPeerConnection;
  polite: boolean;
  makingOffer: boolean;
  ignoreOffer: boolean;
  /** Signals are handled one at a time per member, in arrival order. */
  queue: Promise<void>;
  outfitted: boolean;
  /** Which connection of the pair (PROTOCOL.md, `restart` with `renew`): 0 the first, +1 per renewal. */
  generation: number;
  /** We renewed and the member has not confirmed: what it sends until then is for the connection we dropped. */
  awaitingRenewal: boolean;
  /** Renewals since the last time connected; after the first they wait 5, 10, 20 … 60 s. */
  renewals: number;
  renewTimer: ReturnType<typeof setTimeout> | undefined;
}

/** How long a renewal waits for the member's `{ renewed: N }` before it counts as failed (a bot's connect timeout). */
const CONFIRM_WAIT_MS = 10_000;

/** A whole number of at least 1 in `payload[field]`, if there is one. */
function countIn(payload: unknown, field: "renew" | "renewed"): number | undefined {
  const value =
    typeof payload === "object" && payload !== null ? (payload as Record<string, unknown>)[field] : undefined;
  return Number.isSafeInteger(value) && (value as number) >= 1 ? (value as number) : undefined;
}

/** A DTLS transport of this connection failed: only a new connection repairs that. */
function dtlsFailed(pc: RTCPeerConnection): boolean {
  const transports = [...pc.getSenders(), ...pc.getReceivers()].map((x) => x.transport);
  return [...transports, pc.sctp?.transport].some((t) => t?.state === "failed");
}

export async function joinRoom(o: JoinRoomOptions): Promise<RoomSession> {
  checkOptions(o);
  const client = await SignalClient.connect(o.url, o.token ? { token: o.token } : {});
  const members = new Map<string, MemberState>();
  let iceServers: RTCIceServer[] = client.welcome.iceServers;
  client.on("ice-servers", (servers) => {
    iceServers = servers;
  });
  const send = (to: string, kind: SignalKind, payload: unknown) =>
    client.signal(o.room, to, kind, payload).catch(() => undefined);

  // Adds the page's tracks once per connection: at once when we are the newcomer, else after the first exchange.
  const outfit = (m: MemberState) => {
    if (m.outfitted) return;
    m.outfitted = true;
    for (const track of o.stream?.getTracks() ?? []) m.pc.addTrack(track, o.stream!);
  };

  const newConnection = () => new RTCPeerConnection({ iceServers, iceTransportPolicy: o.iceTransportPolicy ?? "all" });

  function memberFor(id: string, newcomer: boolean): MemberState {
    const known = members.get(id);
    if (known) return known;
    const m: MemberState = {
      id,
      pc: newConnection(),
      polite: client.sessionId > id,
      makingOffer: false,
      ignoreOffer: false,
      queue: Promise.resolve(),
      outfitted: false,
      generation: 0,
      awaitingRenewal: false,
      renewals: 0,
      renewTimer: undefined,
    };
    members.set(id, m);
    drive(m, newcomer);
    o.onMember?.(m);
    return m;
  }

  /** Drives the member's (new) connection; `lead`: we are the newcomer, or the end that renewed it. */
  function drive(m: MemberState, lead: boolean): void {
    const { id, pc } = m;
    pc.onnegotiationneeded = async () => {
      try {
        m.makingOffer = true;
        await pc.setLocalDescription();
        const local = pc.localDescription!;
        if (m.pc === pc) send(id, local.type as SignalKind, local.toJSON());
      } finally {
        m.makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      if (m.pc !== pc) return;
      if (candidate) send(id, "candidate", candidate.toJSON());
      else send(id, "end-of-candidates", null);
    };
    pc.ontrack = (event) => o.onTrack?.(id, event);
    pc.ondatachannel = ({ channel }) => handOverChannel(pc, channel, () => o.onChannel?.(id, channel));
    pc.onconnectionstatechange = () => {
      if (m.pc !== pc) return;
      if (pc.connectionState === "connected") m.renewals = 0;
      if (pc.connectionState !== "failed") return;
      if (!dtlsFailed(pc) && !m.awaitingRenewal) pc.restartIce();
      else scheduleRenewal(m);
    };
    if (lead) {
      outfit(m);
      if (!o.stream) send(id, "restart", null); // nothing to offer: ask them to go first
    }
  }

  /** The first renewal of an outage at once, later ones on a widening interval (a handshake that fails again). */
  function scheduleRenewal(m: MemberState): void {
    clearTimeout(m.renewTimer);
    const delay = m.renewals === 0 ? 0 : Math.min(60_000, 5_000 * 2 ** (m.renewals - 1));
    m.renewTimer = setTimeout(() => renewNow(m), delay);
  }

  /** Tells the member we replace the connection (`restart` with `{ renew: N }`), then does, and offers on the new one. */
  function renewNow(m: MemberState): void {
    if (members.get(m.id) !== m) return;
    m.renewals++; // counted here, so one asked for with session.renew() is repeated on the slow schedule too
    m.generation++;
    m.awaitingRenewal = true;
    send(m.id, "restart", { renew: m.generation });
    replace(m, true);
    // Unconfirmed (a far end that does not know renewals): again on the slow schedule, as a bot repeats its own.
    m.renewTimer = setTimeout(() => {
      if (members.get(m.id) === m && m.awaitingRenewal) scheduleRenewal(m);
    }, CONFIRM_WAIT_MS);
  }

  function replace(m: MemberState, lead: boolean): void {
    const old = m.pc;
    Object.assign(m, { pc: newConnection(), makingOffer: false, ignoreOffer: false, outfitted: false });
    drive(m, lead);
    old.close();
    o.onRenewed?.(m);
  }

  /**
   * `restart` with `{ renew: N }`: the member replaced the connection; follow, confirming before anything of the new
   * one. With `{ renewed: N }`: it followed ours. Renewals crossing: the impolite end's stands.
   */
  function onRenewal(m: MemberState, renew: number | undefined, renewed: number | undefined): void {
    if (renewed !== undefined) {
      if (renewed === m.generation) m.awaitingRenewal = false;
      return;
    }
    const n = renew!;
    const crossing = n === m.generation && m.awaitingRenewal;
    if (n < m.generation || (n === m.generation && !(crossing && m.polite))) return;
    clearTimeout(m.renewTimer);
    m.generation = n;
    m.awaitingRenewal = false;
    send(m.id, "restart", { renewed: n });
    replace(m, false);
  }

  // Perfect negotiation (webrtc-pc §10.7).
  async function onSignal(m: MemberState, kind: SignalKind, payload: unknown): Promise<void> {
    const renew = countIn(payload, "renew");
    const renewed = countIn(payload, "renewed");
    if (kind === "restart" && (renew ?? renewed) !== undefined) return onRenewal(m, renew, renewed);
    if (m.awaitingRenewal) return; // for the connection we dropped
    const { pc } = m;
    if (kind === "offer" || kind === "answer") {
      const offerCollision = kind === "offer" && (m.makingOffer || pc.signalingState !== "stable");
      m.ignoreOffer = !m.polite && offerCollision;
      if (m.ignoreOffer) return;
      await pc.setRemoteDescription(payload as RTCSessionDescriptionInit);
      if (kind === "offer") {
        await pc.setLocalDescription();
        if (m.pc === pc) send(m.id, "answer", pc.localDescription!.toJSON()); // not once renewed meanwhile
      }
      if (pc.signalingState === "stable") outfit(m);
    } else if (kind === "candidate" || kind === "end-of-candidates") {
      try {
        await pc.addIceCandidate((payload ?? undefined) as RTCIceCandidateInit | undefined);
      } catch (err) {
        if (!m.ignoreOffer) throw err;
      }
    } else if (kind === "restart") {
      // With a plan, the other side is already restarting ICE (moving to its next TURN server; we use all of ours at
      // once): its offer follows, and a restart of our own would only collide with it.
      const planned = typeof payload === "object" && payload !== null && "plan" in payload;
      if (!pc.remoteDescription) outfit(m);
      else if (!planned) pc.restartIce();
    }
  }

  client.on("signal", (msg) => {
    if (msg.room !== o.room) return;
    const m = memberFor(msg.from, false);
    m.queue = m.queue.then(() => onSignal(m, msg.kind, msg.payload)).catch((err) => console.error("negotiation", err));
  });
  client.on("member-joined", (room, member) => {
    if (room === o.room) memberFor(member.id, false);
  });
  client.on("member-left", (room, id) => {
    if (room !== o.room) return;
    const m = members.get(id);
    clearTimeout(m?.renewTimer);
    m?.pc.close();
    members.delete(id);
    o.onLeave?.(id);
  });
  client.on("session-replaced", () => {
    for (const [id, m] of members) {
      clearTimeout(m.renewTimer);
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
    renew(memberId) {
      const m = members.get(memberId);
      if (!m) throw new RoomClientError("UNKNOWN_MEMBER", `no member ${JSON.stringify(memberId)} in room ${o.room}`);
      clearTimeout(m.renewTimer); // a renewal on the slow schedule is this one
      renewNow(m);
    },
    close() {
      for (const m of members.values()) {
        clearTimeout(m.renewTimer);
        m.pc.close();
      }
      members.clear();
      client.close();
    },
  };
}

function checkOptions(o: JoinRoomOptions): void {
  const fail = (message: string) => {
    throw new RoomClientError("INVALID_OPTION", message);
  };
  if (typeof o !== "object" || o === null) fail("joinRoom expects an options object { url, room, … }");
  if (typeof o.url !== "string" || !/^wss?:\/\//.test(o.url))
    fail(`url must be a ws:// or wss:// URL, got ${JSON.stringify(o.url)}`);
  if (typeof o.room !== "string" || o.room.length === 0)
    fail(`room must be a non-empty string, got ${JSON.stringify(o.room)}`);
  if (o.iceTransportPolicy !== undefined && o.iceTransportPolicy !== "all" && o.iceTransportPolicy !== "relay")
    fail(`iceTransportPolicy must be "all" or "relay", got ${JSON.stringify(o.iceTransportPolicy)}`);
}
