import type { RTCPeerConnectionConfig } from "@parley/werift";
import type { Peer } from "../peer.js";
import type { Room } from "../room.js";
import type { ClientConnection } from "./client-connection.js";
import type { RoomLinkOptions } from "./room-link.js";

export interface SessionParams {
  id: string;
  /** The bearer token the session was created with: PATCH and DELETE must present it too. */
  token: string | undefined;
  link: RoomLinkOptions;
  /** werift settings for the connection to the WHIP/WHEP client. */
  clientRtc: RTCPeerConnectionConfig;
  /** A client connection not up this long after the answer ends the session. */
  connectTimeoutMs: number;
  /** Called once when the session ends, whatever ended it. */
  onEnd: (session: Session, reason: string) => void;
}

/**
 * One WHIP or WHEP session: a member of its own in the room (a Peer), and the connection to the HTTP client. It ends
 * when the client DELETEs it, when that connection fails or never comes up, or when the room side closes.
 */
export abstract class Session {
  abstract readonly kind: "whip" | "whep";
  protected ended = false;
  private connectTimer: NodeJS.Timeout | undefined;
  protected readonly cleanups: Array<() => void | Promise<void>> = [];

  protected constructor(
    readonly params: SessionParams,
    readonly roomName: string,
    readonly peer: Peer,
    readonly room: Room,
    readonly connection: ClientConnection,
  ) {
    peer.on("close", () => void this.end("the room side closed"));
    const state = connection.pc.connectionStateChange.subscribe((s) => {
      if (s === "connected") clearTimeout(this.connectTimer);
      if (s === "failed" || s === "closed") void this.end(`the client connection ${s}`);
    });
    this.cleanups.push(() => state.unSubscribe());
    this.connectTimer = setTimeout(
      () => void this.end(`the client connection was not up within ${params.connectTimeoutMs} ms`),
      params.connectTimeoutMs,
    );
    // A connection already up when the session is made has no "connected" event left to clear the timer with.
    if (connection.pc.connectionState === "connected") clearTimeout(this.connectTimer);
  }

  get id(): string {
    return this.params.id;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Ends the session: leaves the room, closes both sides. Safe to call twice. */
  async end(reason: string): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.connectTimer);
    this.params.onEnd(this, reason);
    for (const cleanup of this.cleanups) await cleanup();
    await this.connection.close();
    await this.peer.close();
  }
}
