import { type IceServer, SignalClient, type SignalClientOptions, type SignalMessage } from "@parley/signal";
import { type RTCPeerConnectionConfig, RTCRtpHeaderExtensionParameters } from "@parley/werift";
import { EventEmitter } from "eventemitter3";
import { PeerError } from "./errors.js";
import { icePlans, planTurn, rankPlans } from "./ice-servers.js";
import { COLOR_SPACE_URI } from "./media/color-space.js";
import { Room, type RoomOptions } from "./room.js";
import { reachableTurnUrls } from "./turn-preflight.js";

export interface PeerOptions {
  /** Token for the signalling server. */
  token?: string;
  /** Further signalling client options (reconnect, timeouts). */
  signal?: Omit<SignalClientOptions, "token">;
  /** ICE servers to use instead of the welcome's (which carry the server's TURN credentials). */
  iceServers?: IceServer[];
  /** "relay" to use TURN only (no host or server-reflexive candidates). */
  iceTransportPolicy?: "all" | "relay";
  /**
   * Restart ICE when a connection stays "disconnected" this long (it is "disconnected" once a check sent after 750 ms
   * without receiving anything goes unanswered, or after 2.5 s of silence). Default 500 ms: an ICE restart keeps DTLS
   * and every channel, so it costs little.
   */
  restartAfterMs?: number;
  /** A connection not up this long after starting or restarting counts as failed. Default 10 s. */
  connectTimeoutMs?: number;
  /**
   * Quick ICE restarts per outage before CONNECTION_FAILED is reported; restarts then continue every 5, 10, 20 … 60 s
   * while the member stays in the room. Default 4.
   */
  maxRestarts?: number;
  /**
   * With more than one TURN URL, how long to spend asking each (in parallel, one Allocate, deleted at once) which
   * answer, before the first connection, so connections start on a TURN URL that works. 0 skips it. Default 2000 ms.
   */
  turnPreflightMs?: number;
  /**
   * werift settings passed through (e.g. `iceAdditionalHostAddresses: ["127.0.0.1"]` for loopback-only tests,
   * `icePortRange`). ICE servers and policy are set from the options above.
   */
  rtc?: Omit<RTCPeerConnectionConfig, "iceServers" | "iceTransportPolicy">;
}

export interface PeerEvents {
  room: (room: Room) => void;
  /** The signalling connection dropped and came back on the same session: connections carry on. */
  resumed: () => void;
  /** Our session could not be resumed: we have a new member id and every connection starts over. */
  "session-replaced": (previousId: string) => void;
  error: (err: PeerError) => void;
  close: () => void;
}

/**
 * A headless WebRTC participant: one signalling connection, any number of rooms, one werift connection per remote
 * member. `await Peer.connect(url, { token })`, then `await peer.join("room")`.
 */
export class Peer extends EventEmitter<PeerEvents> {
  private readonly rooms = new Map<string, Room>();
  private closed = false;
  /** TURN URLs that answered the last preflight, and the URL list it ran for (see preflight()). */
  private reachable: Set<string> | undefined;
  private preflightFor = "";
  private preflightRun: Promise<void> = Promise.resolve();
  private readonly closing = new AbortController();

  private constructor(
    readonly signal: SignalClient,
    private readonly options: PeerOptions,
  ) {
    super();
    signal.on("signal", (msg: SignalMessage) => this.rooms.get(msg.room)?.onSignal(msg.from, msg.kind, msg.payload));
    signal.on("member-joined", (room, member) => this.rooms.get(room)?.onMemberJoined(member.id, member.metadata));
    signal.on("member-left", (room, id) => void this.rooms.get(room)?.onMemberLeft(id));
    signal.on("resumed", () => this.emit("resumed"));
    signal.on("session-replaced", (previous) => {
      for (const room of this.rooms.values()) void room.reset(signal.rooms.get(room.name));
      this.emit("session-replaced", previous);
    });
    signal.on("close", (reason) => {
      if (reason) this.emit("error", new PeerError("CLOSED", `signalling closed: ${reason.message}`));
      void this.close();
    });
    void this.preflight(); // in the background from the start; join() waits for it
  }

  static async connect(url: string, options: PeerOptions = {}): Promise<Peer> {
    if (options.iceServers) icePlans(options.iceServers); // validate up front: a typo fails here, not in ICE
    const signal = await SignalClient.connect(url, {
      ...options.signal,
      ...(options.token ? { token: options.token } : {}),
    });
    return new Peer(signal, options);
  }

  /** Our member id (the signalling session id). */
  get id(): string {
    return this.signal.sessionId;
  }

  /** The ICE servers in use: the configured ones, else the welcome's (refreshed TURN credentials included). */
  get iceServers(): IceServer[] {
    return this.options.iceServers ?? this.signal.welcome.iceServers;
  }

  /**
   * Asks each configured TURN URL whether it answers (see reachableTurnUrls), once per distinct URL list: the
   * welcome's credentials change on refresh, its URLs rarely. Only with more than one TURN URL, where the order of
   * fallback plans matters.
   */
  private preflight(): Promise<void> {
    const timeoutMs = this.options.turnPreflightMs ?? 2000;
    let plans: ReturnType<typeof icePlans>;
    try {
      plans = icePlans(this.iceServers);
    } catch {
      return this.preflightRun; // a bad URL in the welcome is reported where connections use it, as a typed error
    }
    const turns = plans.flatMap((plan) => planTurn(plan) ?? []);
    const urls = turns.map((t) => t.urls).join(" ");
    if (timeoutMs <= 0 || turns.length < 2 || urls === this.preflightFor) return this.preflightRun;
    this.preflightFor = urls;
    this.preflightRun = reachableTurnUrls(turns, timeoutMs, this.closing.signal).then((reachable) => {
      if (this.preflightFor === urls) this.reachable = reachable;
    });
    return this.preflightRun;
  }

  async join(name: string, options: RoomOptions = {}): Promise<Room> {
    if (this.closed) throw new PeerError("CLOSED", "peer is closed");
    if (this.rooms.has(name)) throw new PeerError("INVALID_ARGUMENT", `already in room "${name}"`);
    const room = new Room(
      name,
      this.signal,
      options,
      () => ({
        selfId: this.signal.sessionId,
        // max-bundle: one ICE transport per connection. werift otherwise gathers one per m-line and, once BUNDLE
        // is agreed, never closes the spare ones (UDP sockets left open after close()).
        rtc: {
          bundlePolicy: "max-bundle",
          // So senders that use another colour space than VP8's BT.601 (Chromium's canvas and screen captures) say so,
          // and VideoStream converts their frames right.
          headerExtensions: {
            audio: [],
            video: [new RTCRtpHeaderExtensionParameters({ id: 9, uri: COLOR_SPACE_URI })],
          },
          ...this.options.rtc,
          iceTransportPolicy: this.options.iceTransportPolicy ?? "all",
        },
        plans: rankPlans(icePlans(this.iceServers), this.reachable),
        restartAfterMs: this.options.restartAfterMs ?? 500,
        connectTimeoutMs: this.options.connectTimeoutMs ?? 10_000,
        maxRestarts: this.options.maxRestarts ?? 4,
      }),
      () => this.rooms.delete(name),
    );
    this.rooms.set(name, room);
    try {
      await this.preflight();
      const state = await this.signal.join(name, options.metadata);
      room.connectAsNewcomer(state);
    } catch (err) {
      this.rooms.delete(name);
      throw err;
    }
    this.emit("room", room);
    return room;
  }

  /** Leaves every room, closes every connection and the signalling connection. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    await Promise.all([...this.rooms.values()].map((room) => room.closeAll()));
    this.rooms.clear();
    this.signal.close();
    this.emit("close");
    this.removeAllListeners();
  }
}
