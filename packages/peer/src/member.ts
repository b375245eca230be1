import {
  type MediaStreamTrack,
  type RTCIceCandidateInit,
  type RTCIceServer,
  RTCPeerConnection,
  type RTCPeerConnectionConfig,
  type RTCRtpSender,
  type RTCRtpTransceiver,
  type RTCSessionDescriptionInit,
} from "@parley/werift";
import { EventEmitter } from "eventemitter3";
import { Channel, type ChannelOptions } from "./channel.js";
import { PeerError } from "./errors.js";
import { forwardKeyframeRequests } from "./media/keyframe-requests.js";
import { type Outgoing, PerfectNegotiation } from "./negotiation.js";
import { type MemberStats, memberStats } from "./stats.js";

export type ConnectionState = RTCPeerConnection["connectionState"];

export interface MemberEvents {
  track: (track: MediaStreamTrack, transceiver: RTCRtpTransceiver) => void;
  datachannel: (channel: Channel) => void;
  message: (channel: Channel, data: string | Buffer) => void;
  "connection-state": (state: ConnectionState) => void;
  /**
   * The connection was replaced by a new one (see renew()): its channels closed, and tracks and channels come again
   * as `track` and `datachannel` events. `lead` is true on the end that started the renewal (it offers first).
   */
  renewed: (lead: boolean) => void;
  error: (err: PeerError) => void;
  close: () => void;
}

export interface MemberConfig {
  selfId: string;
  /** werift settings shared by every connection (ICE policy, host addresses, port range). */
  rtc: RTCPeerConnectionConfig;
  /** ICE server plans (see icePlans); the connection starts on the first. */
  plans: RTCIceServer[][];
  /** Restart ICE when the connection stays "disconnected" this long. Default 500 ms (peer.ts). */
  restartAfterMs: number;
  /**
   * Count a connection that is still not up this long after it started (or restarted) as failed. werift never
   * reports "failed" when no candidate pair can even be formed (a dead TURN server under relay-only policy).
   * Default 10 s.
   */
  connectTimeoutMs: number;
  /** Quick ICE restarts (plan switches included) before CONNECTION_FAILED is reported and restarts slow down. */
  maxRestarts: number;
  send: (message: Outgoing) => void;
}

/**
 * How much longer the polite end waits before restarting ICE itself, for the impolite end's lead to arrive. Both ends
 * lose a dead path at the same moment and notice it within ~100 ms of each other (werift patch 15's 100 ms watch), so
 * this covers that and the signal's trip. Short because a browser never leads: against one, the polite bot waits it
 * out every time, and a browser's SCTP retries a lost message at 2.8 s, then not before 5.8 s.
 */
const FOLLOWER_GRACE_MS = 250;
/** After maxRestarts quick restarts, the next comes after this, then twice as long each time up to the maximum. */
const SLOW_RESTART_MS = 5_000;
const MAX_SLOW_RESTART_MS = 60_000;

/** The count in a `restart` payload's `field`, if it holds a whole number of at least `min`. */
function countIn(payload: unknown, field: "plan" | "renew" | "renewed", min: number): number | undefined {
  if (typeof payload !== "object" || payload === null) return undefined;
  const value = (payload as Record<string, unknown>)[field];
  return Number.isSafeInteger(value) && (value as number) >= min ? (value as number) : undefined;
}

/** Delay before the n-th (0-based) slow attempt: SLOW_RESTART_MS, twice as long each time, up to the maximum. */
const slowDelay = (n: number) => Math.min(MAX_SLOW_RESTART_MS, SLOW_RESTART_MS * 2 ** n);

/**
 * One remote member of a room and our connection to it: a werift RTCPeerConnection driven by perfect negotiation,
 * with ICE restarts on failure and a fallback through every configured TURN URL.
 */
export class RemoteMember extends EventEmitter<MemberEvents> {
  /** Whether we yield on glare (see PerfectNegotiation); decided from the two ids so both sides agree. */
  readonly polite: boolean;
  private current!: RTCPeerConnection;
  private negotiation!: PerfectNegotiation;
  private readonly channels = new Map<string, Channel>();
  private plan = 0;
  private restarts = 0;
  /** Which connection of this pair we are on: 0 the first, +1 per renewal (PROTOCOL.md, `restart` with `renew`). */
  private generation = 0;
  /**
   * We renewed and the far end has not confirmed it (`restart` with `renewed`): until it does, what it sends belongs
   * to the connection we dropped, and is dropped too.
   */
  private awaitingRenewal = false;
  /** Renewals since last connected (ours, asked for or not); after the first they follow the slow schedule. */
  private renewals = 0;
  /** CONNECTION_FAILED was emitted for the current outage (reset when connected again). */
  private failureReported = false;
  private disconnectTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly id: string,
    public metadata: Record<string, unknown> | undefined,
    private readonly config: MemberConfig,
  ) {
    super();
    this.polite = config.selfId > id;
    this.open();
    this.armConnectTimer();
  }

  /** The connection to this member now (a renewal replaces it). */
  get pc(): RTCPeerConnection {
    return this.current;
  }

  get connectionState(): ConnectionState {
    return this.pc.connectionState;
  }

  /**
   * Called when a member "requests negotiation" (signal kind `restart` before any connection): the newcomer had
   * nothing to offer, so it asks us to go first. Set by Room.
   */
  onNegotiationRequested: (() => void) | undefined;

  /**
   * Begins the first exchange, as the member who joined later: an offer if we have anything to negotiate (werift's
   * negotiationneeded has usually sent it already), else a `restart` signal asking them to offer instead.
   */
  start(): Promise<void> {
    if (this.pc.getTransceivers().length > 0 || this.channels.size > 0) return this.negotiation.negotiate();
    this.config.send({ kind: "restart", payload: null });
    return Promise.resolve();
  }

  /** Handles one signal from this member. */
  async onSignal(kind: string, payload: unknown): Promise<void> {
    if (kind === "restart" && (countIn(payload, "renew", 1) ?? countIn(payload, "renewed", 1)) !== undefined) {
      return this.onRenewal(payload as { renew?: number; renewed?: number });
    }
    if (this.awaitingRenewal) return; // for the connection we dropped
    switch (kind) {
      case "offer":
      case "answer":
        return this.negotiation.description(payload as RTCSessionDescriptionInit);
      case "candidate":
        return this.negotiation.candidate(payload as RTCIceCandidateInit);
      case "end-of-candidates":
        return this.negotiation.candidate(null);
      case "restart": {
        // Before any connection it means "you offer"; on an established one, "restart ICE" — or, with a plan, "I am
        // restarting ICE on this plan": move there too and answer the offer that follows.
        const plan = countIn(payload, "plan", 0);
        if (!this.pc.remoteDescription && !this.pc.localDescription) this.onNegotiationRequested?.();
        else if (plan !== undefined) this.followRestart(plan);
        else this.restartIce();
        return;
      }
    }
  }

  /** Opens a labelled data channel to this member; resolves when it is open. */
  async openChannel(label: string, options: ChannelOptions = {}): Promise<Channel> {
    this.assertOpen();
    if (label.length === 0 || Buffer.byteLength(label) > 65535) {
      throw new PeerError("INVALID_ARGUMENT", `channel label must be 1-65535 bytes, got ${Buffer.byteLength(label)}`);
    }
    const raw = this.pc.createDataChannel(label, {
      ordered: options.ordered ?? true,
      ...(options.maxRetransmits !== undefined ? { maxRetransmits: options.maxRetransmits } : {}),
    });
    return this.adopt(new Channel(raw, this.id, options)).opened();
  }

  /** The open (or opening) channel with this label, ours or theirs. */
  channel(label: string): Channel | undefined {
    return this.channels.get(label);
  }

  /** Sends a local track to this member (renegotiates). */
  addTrack(track: MediaStreamTrack): RTCRtpSender {
    this.assertOpen();
    const sender = this.pc.addTrack(track);
    // So a VideoSource hears this member's keyframe requests (PLI/FIR) for its track.
    forwardKeyframeRequests(sender);
    return sender;
  }

  /** Adds a receive-only transceiver, so the member's offer/answer can carry its audio or video to us. */
  receive(kind: "audio" | "video"): void {
    this.pc.addTransceiver(kind, { direction: "recvonly" });
  }

  /** Asks the member for a keyframe on every video stream we receive from it (RTCP PLI). */
  async requestKeyframe(): Promise<void> {
    for (const t of this.pc.getTransceivers()) {
      const ssrc = t.receiver.track?.ssrc;
      if (t.kind === "video" && ssrc !== undefined) await t.receiver.sendRtcpPLI(ssrc);
    }
  }

  stats(): Promise<MemberStats> {
    return memberStats(this.pc);
  }

  /**
   * Starts an ICE restart (new credentials, new candidates) through perfect negotiation. Does nothing while the
   * connection's first exchange is not done (after joining or a renewal): ICE has not started, and werift would offer
   * a restart that collides with the first offer.
   */
  restartIce(): void {
    if (this.closed || !this.pc.remoteDescription || this.awaitingRenewal) return;
    // This restart is the recovery: none other is due, and it has connectTimeoutMs to get connected.
    clearTimeout(this.disconnectTimer);
    this.armConnectTimer();
    this.pc.restartIce();
  }

  /**
   * Replaces the connection with a new one (new ICE agent, new DTLS handshake), the repair for what an ICE restart
   * cannot mend: a failed DTLS handshake. Tells the member first (`restart` with `{ renew: N }`), then offers as the
   * newcomer would; the room's tracks and channels go on the new connection (Room listens to `renewed`). Done by
   * itself when a handshake fails; callable to force a fresh start.
   */
  renew(): void {
    this.assertOpen();
    // Counted here, not by the caller: a renewal asked for by the bot's own code that is never confirmed is repeated
    // on the slow schedule too, not at once (PROTOCOL.md: no sooner than 5 s).
    this.renewals++;
    this.generation++;
    this.awaitingRenewal = true;
    this.config.send({ kind: "restart", payload: { renew: this.generation } });
    this.replace(true);
  }

  /** Closes the connection and every channel. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.disconnectTimer);
    clearTimeout(this.connectTimer);
    this.negotiation.close();
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
    await this.pc.close().catch(() => {});
    this.emit("close");
    this.removeAllListeners();
  }

  /** Makes a connection on the current plan and drives it; what an older one reports is ignored. */
  private open(): void {
    const pc = new RTCPeerConnection({ ...this.config.rtc, iceServers: this.config.plans[this.plan] ?? [] });
    this.current = pc;
    this.negotiation = new PerfectNegotiation(pc, this.polite, this.config.send, (err) =>
      this.fail("NEGOTIATION_FAILED", `negotiation with ${this.id} failed: ${err.message}`),
    );
    pc.ontrack = ({ track, transceiver }) => this.emit("track", track, transceiver);
    pc.ondatachannel = ({ channel }) => {
      const wrapped = this.adopt(new Channel(channel, this.id));
      this.emit("datachannel", wrapped);
    };
    pc.connectionStateChange.subscribe((state) => {
      if (pc === this.current) this.onConnectionState(state);
    });
  }

  /** Closes the connection and its channels and starts a new one; `lead`: we offer (see renewed). */
  private replace(lead: boolean): void {
    clearTimeout(this.disconnectTimer);
    const old = this.current;
    this.negotiation.close();
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
    this.open();
    void old.close().catch(() => {});
    this.armConnectTimer();
    this.emit("renewed", lead);
  }

  /**
   * `restart` with `{ renew: N }` (the member replaced our connection: follow, and confirm with `{ renewed: N }` before
   * anything of the new one) or `{ renewed: N }` (it followed ours). When both renew at once the impolite end's
   * renewal stands: the polite one follows it, the impolite one waits for that confirmation.
   */
  private onRenewal(payload: { renew?: number; renewed?: number }): void {
    if (this.closed) return;
    if (payload.renewed !== undefined) {
      if (payload.renewed === this.generation) this.awaitingRenewal = false;
      return;
    }
    const n = payload.renew!;
    const crossing = n === this.generation && this.awaitingRenewal;
    if (n < this.generation || (n === this.generation && !(crossing && this.polite))) return; // old, or ours stands
    this.generation = n;
    this.awaitingRenewal = false;
    this.config.send({ kind: "restart", payload: { renewed: n } });
    this.replace(false);
  }

  private adopt(channel: Channel): Channel {
    this.channels.set(channel.label, channel);
    channel.on("message", (data) => this.emit("message", channel, data));
    channel.once("close", () => {
      if (this.channels.get(channel.label) === channel) this.channels.delete(channel.label);
    });
    return channel;
  }

  private onConnectionState(state: ConnectionState): void {
    if (this.closed) return;
    this.emit("connection-state", state);
    // Only "connected" calls a pending recovery off. "connecting" after "failed" or "disconnected" is werift starting
    // ICE over on the same credentials (a renegotiation from the far end), which recovers nothing on a dead path; it
    // used to cancel the restart that "failed" had scheduled, and the connection stayed down.
    if (state === "connected") {
      clearTimeout(this.disconnectTimer);
      clearTimeout(this.connectTimer);
      this.restarts = 0;
      this.renewals = 0;
      this.failureReported = false;
    } else if (state === "failed") {
      this.scheduleRecovery(0);
    } else if (state === "disconnected") {
      // Often a blip that ICE repairs by itself; restart only if it lasts.
      this.scheduleRecovery(this.config.restartAfterMs);
    }
  }

  /**
   * Both ends see a failure at about the same time, so one leads the recovery (the impolite one, as in perfect
   * negotiation) and tells the other which plan to move to; the other recovers by itself only if no such word came
   * within FOLLOWER_GRACE_MS (a far end that does not lead, such as a browser).
   */
  private scheduleRecovery(afterMs: number): void {
    clearTimeout(this.disconnectTimer);
    this.disconnectTimer = setTimeout(() => this.recover(), afterMs + (this.polite ? FOLLOWER_GRACE_MS : 0));
  }

  /** The far end leads an ICE restart onto `plan`: use the same TURN server, so its offer meets our answer there. */
  private followRestart(plan: number): void {
    if (this.closed) return;
    // The leader counts this restart against maxRestarts; we only follow it.
    clearTimeout(this.disconnectTimer);
    this.armConnectTimer();
    if (plan !== this.plan && plan < this.config.plans.length) {
      this.plan = plan;
      this.pc.setConfiguration({ ...this.config.rtc, iceServers: this.config.plans[plan]! });
    }
  }

  /**
   * ICE failed or stayed down: move to the next TURN plan (if any) and restart ICE. The first maxRestarts restarts
   * come at once; then CONNECTION_FAILED is reported (once per outage) and restarts go on at a widening interval
   * (SLOW_RESTART_MS…MAX_SLOW_RESTART_MS) for as long as the member stays in the room: a network that comes back
   * an hour later brings the call back without the bot doing anything.
   */
  private recover(): void {
    if (this.closed) return;
    if (this.pc.dtlsTransports.some((t) => t.state === "failed") || this.awaitingRenewal) {
      // An ICE restart keeps the DTLS association, so one that failed stays failed: werift answers every restart with
      // "failed" again. Seen in join storms of 50 when every handshake ran at once on a saturated core. Only a new
      // connection repairs it: the first at once, then on the slow schedule (the same certificate that failed the
      // check, or a far end that never confirms a renewal, would otherwise renew it in a loop).
      if (!this.failureReported) {
        this.failureReported = true;
        // Said as it is: a renewal the far end never confirmed is no DTLS failure, and reading it as one sends
        // whoever reads the log after the wrong cause.
        const why = this.awaitingRenewal
          ? `it did not confirm our new connection within ${this.config.connectTimeoutMs / 1000} s`
          : "its DTLS handshake failed, which an ICE restart cannot repair";
        this.fail("CONNECTION_FAILED", `connection to ${this.id} failed: ${why}; starting a new connection`);
      }
      clearTimeout(this.disconnectTimer);
      const renew = () => {
        if (!this.closed) this.renew();
      };
      if (this.renewals === 0) renew();
      else this.disconnectTimer = setTimeout(renew, slowDelay(this.renewals - 1));
      return;
    }
    if (this.restarts >= this.config.maxRestarts) {
      if (!this.failureReported) {
        this.failureReported = true;
        this.fail(
          "CONNECTION_FAILED",
          `connection to ${this.id} failed after ${this.restarts} ICE restarts; retrying while the member stays`,
        );
      }
      clearTimeout(this.disconnectTimer);
      this.disconnectTimer = setTimeout(() => this.restartNow(), slowDelay(this.restarts - this.config.maxRestarts));
      this.restarts++;
      return;
    }
    this.restarts++;
    this.restartNow();
  }

  private restartNow(): void {
    if (this.closed) return;
    if (this.config.plans.length > 1) {
      this.plan = (this.plan + 1) % this.config.plans.length;
      this.pc.setConfiguration({ ...this.config.rtc, iceServers: this.config.plans[this.plan]! });
    }
    // Said before the offer (signals keep their order), so the far end gathers on the same plan for its answer.
    this.config.send({ kind: "restart", payload: { plan: this.plan } });
    this.restartIce();
  }

  /**
   * (Re)starts the clock for getting connected; runs recover() if it runs out first. The polite end's clock runs
   * FOLLOWER_GRACE_MS longer, so the impolite end leads the restart and both move to the same plan.
   */
  private armConnectTimer(): void {
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(
      () => {
        // A renewal the far end never confirmed counts as failed too (a far end that does not renew).
        if (this.pc.connectionState !== "connected" && (this.pc.remoteDescription || this.awaitingRenewal)) {
          this.recover();
        } else if (this.pc.connectionState !== "connected") this.armConnectTimer(); // not even negotiated yet: wait
      },
      this.config.connectTimeoutMs + (this.polite ? FOLLOWER_GRACE_MS : 0),
    );
  }

  private fail(code: "NEGOTIATION_FAILED" | "CONNECTION_FAILED", message: string): void {
    this.emit("error", new PeerError(code, message, this.id));
  }

  private assertOpen(): void {
    if (this.closed) throw new PeerError("CLOSED", `member ${this.id} has left or the connection is closed`, this.id);
  }
}
