import type { RoomState, SignalClient } from "@parley/signal";
import type { MediaStreamTrack, RTCRtpTransceiver } from "@parley/werift";
import { EventEmitter } from "eventemitter3";
import type { Channel, ChannelOptions } from "./channel.js";
import { PeerError } from "./errors.js";
import { type ConnectionState, type MemberConfig, RemoteMember } from "./member.js";

export interface RoomOptions {
  /** Shown to the other members (e.g. a display name). */
  metadata?: Record<string, unknown>;
  /** Media we ask each member for. Default: audio and video. */
  receive?: { audio?: boolean; video?: boolean };
}

export interface RoomEvents {
  "member-joined": (member: RemoteMember) => void;
  "member-left": (member: RemoteMember) => void;
  track: (member: RemoteMember, track: MediaStreamTrack, transceiver: RTCRtpTransceiver) => void;
  datachannel: (member: RemoteMember, channel: Channel) => void;
  message: (member: RemoteMember, channel: Channel, data: string | Buffer) => void;
  "connection-state": (member: RemoteMember, state: ConnectionState) => void;
  /** The member's connection was replaced by a new one (RemoteMember.renew): the old one's channels closed. */
  "member-renewed": (member: RemoteMember) => void;
  error: (err: PeerError) => void;
}

/** How long a member already in the room waits for a newcomer's first offer before offering itself. */
const FIRST_OFFER_WAIT_MS = 3000;

interface RoomChannel {
  label: string;
  options: ChannelOptions;
}

/**
 * A room we are in: one RemoteMember (one RTCPeerConnection) per other member, a full mesh. The member who joins
 * later sends the first offer to each member already there; after that either side renegotiates at will (perfect
 * negotiation). Tracks and channels added to the room go to every member, present and future.
 */
export class Room extends EventEmitter<RoomEvents> {
  private readonly memberMap = new Map<string, RemoteMember>();
  private readonly tracks: MediaStreamTrack[] = [];
  private readonly roomChannels: RoomChannel[] = [];
  /** Members that have our room tracks and channels; the others get them when their first exchange is done. */
  private readonly outfitted = new WeakSet<RemoteMember>();
  /** Members whose connection waits for their first offer, with what calls the wait off. */
  private readonly waits = new Map<RemoteMember, () => void>();
  private closed = false;

  constructor(
    readonly name: string,
    private readonly signal: SignalClient,
    private readonly options: RoomOptions,
    private readonly memberConfig: () => Omit<MemberConfig, "send">,
    private readonly onLeave: () => void,
  ) {
    super();
  }

  get members(): ReadonlyMap<string, RemoteMember> {
    return this.memberMap;
  }

  /** Our member id in this room. */
  get selfId(): string {
    return this.signal.sessionId;
  }

  /** Sends `track` to every member, now and as they join. */
  addTrack(track: MediaStreamTrack): void {
    this.tracks.push(track);
    for (const member of this.memberMap.values()) if (this.outfitted.has(member)) member.addTrack(track);
  }

  /** Opens a channel with this label to every member, now and as they join; resolves when the current ones are open. */
  async openChannel(label: string, options: ChannelOptions = {}): Promise<Channel[]> {
    this.roomChannels.push({ label, options });
    const ready = [...this.memberMap.values()].filter((m) => this.outfitted.has(m));
    return Promise.all(ready.map((m) => m.openChannel(label, options)));
  }

  /** Sends `data` on the channel `label` of every member that has it open (room-wide chat, state updates). */
  async send(label: string, data: string | Uint8Array): Promise<void> {
    const channels = [...this.memberMap.values()]
      .map((m) => m.channel(label))
      .filter((c): c is Channel => c?.readyState === "open");
    await Promise.all(channels.map((c) => c.send(data)));
  }

  /** Leaves the room: closes every connection and tells the server. Safe to call twice. */
  async leave(): Promise<void> {
    if (this.closed) return;
    await this.closeAll();
    this.onLeave();
    await this.signal.leave(this.name).catch(() => {}); // already gone if the signalling connection is closed
  }

  // ---- driven by Peer ---------------------------------------------------------------------------------------------

  /** We joined (or re-joined after a replaced session): connect to everyone already here, as the newcomer. */
  connectAsNewcomer(state: RoomState): void {
    for (const member of state.members.values()) {
      const remote = this.addMember(member.id, member.metadata, true);
      void remote.start();
    }
  }

  onMemberJoined(id: string, metadata: Record<string, unknown> | undefined): void {
    // They are the newcomer: they will offer. Our tracks and channels follow once their offer is in.
    this.addMember(id, metadata, false);
  }

  async onMemberLeft(id: string): Promise<void> {
    const member = this.memberMap.get(id);
    if (!member) return;
    this.memberMap.delete(id);
    await member.close();
    this.emit("member-left", member);
  }

  onSignal(from: string, kind: string, payload: unknown): void {
    if (this.closed) return;
    // A signal can precede member-joined only across a replaced session of ours; treat the sender as present.
    const member = this.memberMap.get(from) ?? this.addMember(from, undefined, false);
    void member.onSignal(kind, payload);
  }

  /** Our session was replaced: every member sees us as new, so every connection starts over. */
  async reset(state: RoomState | undefined): Promise<void> {
    for (const member of [...this.memberMap.values()]) await this.onMemberLeft(member.id);
    if (state) this.connectAsNewcomer(state);
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.memberMap.values()].map((m) => m.close()));
    this.memberMap.clear();
  }

  private addMember(id: string, metadata: Record<string, unknown> | undefined, newcomer: boolean): RemoteMember {
    const existing = this.memberMap.get(id);
    if (existing) return existing;
    const member = new RemoteMember(id, metadata, {
      ...this.memberConfig(),
      send: ({ kind, payload }) => {
        this.signal.signal(this.name, id, kind, payload).catch((err: Error) => {
          // The member left meanwhile (UNKNOWN_MEMBER) or we are closing: nothing to deliver to.
          if (this.memberMap.get(id) === member) {
            this.emit("error", new PeerError("NEGOTIATION_FAILED", `could not signal ${id}: ${err.message}`, id));
          }
        });
      },
    });
    this.memberMap.set(id, member);
    member.on("track", (track, transceiver) => this.emit("track", member, track, transceiver));
    member.on("datachannel", (channel) => this.emit("datachannel", member, channel));
    member.on("message", (channel, data) => this.emit("message", member, channel, data));
    member.on("connection-state", (state) => this.emit("connection-state", member, state));
    member.on("error", (err) => this.emit("error", err));
    member.on("renewed", (lead) => {
      this.outfitted.delete(member);
      this.prepare(member, lead);
      if (lead) void member.start();
      this.emit("member-renewed", member);
    });
    this.prepare(member, newcomer);
    this.emit("member-joined", member);
    return member;
  }

  /**
   * Readies a member's (new) connection: as the newcomer (or the end that renewed it), our tracks, channels and
   * receive-only transceivers go on at once and we offer; otherwise they wait for the member's first offer.
   */
  private prepare(member: RemoteMember, newcomer: boolean): void {
    this.waits.get(member)?.();
    const outfit = () => {
      this.outfitted.add(member);
      try {
        for (const track of this.tracks) member.addTrack(track);
      } catch (err) {
        this.emit(
          "error",
          new PeerError(
            "NEGOTIATION_FAILED",
            `could not add tracks for ${member.id}: ${(err as Error).message}`,
            member.id,
          ),
        );
      }
      const pc = member.pc;
      for (const { label, options } of this.roomChannels) {
        member.openChannel(label, options).catch((err: PeerError) => {
          // Not when the connection it was opening on was replaced (it opens again on the new one) or the member left.
          if (member.pc === pc && this.memberMap.get(member.id) === member) this.emit("error", err);
        });
      }
    };
    if (newcomer) {
      outfit();
      // Ask for the media we want, except kinds a track of ours already negotiates both ways (sendrecv).
      const receive = this.options.receive ?? {};
      const sending = new Set(this.tracks.map((t) => t.kind));
      if (receive.audio !== false && !sending.has("audio")) member.receive("audio");
      if (receive.video !== false && !sending.has("video")) member.receive("video");
      return;
    }
    // Wait for their first offer before adding ours, so the first exchange has no glare; if none comes (a member with
    // nothing to send), go first after a while.
    const pc = member.pc;
    const stop = () => {
      this.waits.delete(member);
      sub.unSubscribe();
      clearTimeout(timer);
      member.off("close", stop);
    };
    const go = () => {
      if (this.waits.get(member) !== stop) return;
      stop();
      outfit();
    };
    const sub = pc.signalingStateChange.subscribe((state) => {
      if (state === "stable") go();
    });
    const timer = setTimeout(() => {
      if (!pc.remoteDescription) go();
    }, FIRST_OFFER_WAIT_MS);
    this.waits.set(member, stop);
    // The newcomer had nothing to offer and asks us to: adding our tracks and channels makes werift offer.
    member.onNegotiationRequested = go;
    member.once("close", stop);
  }
}
