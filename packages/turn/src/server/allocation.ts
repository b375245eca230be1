import type { Server, Socket } from "node:net";
import type { ClientLink } from "./client-link.js";
import type { RelaySocket } from "./relay-ports.js";

export interface PeerAddress {
  address: string;
  port: number;
}

export interface ChannelBinding {
  channel: number;
  peer: PeerAddress;
  peerKey: string;
  expiresAt: number;
}

/** An RFC 6062 TCP connection between the relay and a peer, identified by CONNECTION-ID. */
export interface PeerConnection {
  id: number;
  socket: Socket;
  peer: PeerAddress;
  peerKey: string;
  /** Closes the peer connection if no ConnectionBind arrives in time (RFC 6062 §5.3, §5.4: 30 s). */
  timer: NodeJS.Timeout | undefined;
  bound: boolean;
}

/** The relayed side of an allocation: a UDP socket (RFC 8656) or a TCP listener (RFC 6062). */
export type Relay =
  | { kind: "udp"; address: string; port: number; socket: RelaySocket["socket"] }
  | { kind: "tcp"; address: string; port: number; server: Server };

/** Permissions, channels and TCP connections one allocation may hold: generous for real use, bounded for abuse. */
export const MAX_PERMISSIONS = 1024;
export const MAX_CHANNELS = 4096;
export const MAX_PEER_CONNECTIONS = 256;

/** RFC 8656 §2.2: a relayed transport address bound to one client 5-tuple, with its permissions and channels. */
export class Allocation {
  readonly permissions = new Map<string, number>();
  readonly channels = new Map<number, ChannelBinding>();
  readonly channelsByPeer = new Map<string, ChannelBinding>();
  readonly peerConnections = new Map<number, PeerConnection>();
  /** The IPv6 relay of a dual-stack allocation (RFC 8656 ADDITIONAL-ADDRESS-FAMILY), besides `relay` (IPv4). */
  relay6: Relay | undefined;
  /** A dual allocation was asked for but no IPv6 relay could be made (ADDRESS-ERROR-CODE 440 in the response). */
  family6Error = false;
  /** RFC 8016 mobility ticket, when the client asked for one. */
  ticket: string | undefined;
  expiresAt: number;
  bytesToPeer = 0;
  bytesFromPeer = 0;
  private tokens: number;
  private tokensAt = Date.now();

  constructor(
    /** The client's 5-tuple; changes only when RFC 8016 mobility moves the allocation. */
    public link: ClientLink,
    readonly relay: Relay,
    readonly username: string,
    readonly key: Buffer | undefined,
    /** Transaction id of the Allocate that made it, so a retransmission gets a success again (RFC 8656 §7.2). */
    readonly transactionId: string,
    lifetimeSeconds: number,
    /** Bytes per second each way (coturn's -s/--max-bps), 0 for unlimited. */
    private readonly maxBytesPerSecond: number,
  ) {
    this.expiresAt = Date.now() + lifetimeSeconds * 1000;
    this.tokens = maxBytesPerSecond;
  }

  hasPermission(address: string, now: number): boolean {
    const expiry = this.permissions.get(address);
    return expiry !== undefined && expiry > now;
  }

  /** Token bucket with one second of burst: false means drop this packet (RFC 8656 allows dropping under load). */
  admit(bytes: number, now: number): boolean {
    if (this.maxBytesPerSecond === 0) return true;
    this.tokens = Math.min(
      this.maxBytesPerSecond,
      this.tokens + ((now - this.tokensAt) / 1000) * this.maxBytesPerSecond,
    );
    this.tokensAt = now;
    if (this.tokens < bytes) return false;
    this.tokens -= bytes;
    return true;
  }

  /** Drops expired permissions and channels. */
  sweep(now: number): void {
    for (const [address, expiry] of this.permissions) if (expiry <= now) this.permissions.delete(address);
    for (const [channel, binding] of this.channels) {
      if (binding.expiresAt <= now) {
        this.channels.delete(channel);
        this.channelsByPeer.delete(binding.peerKey);
      }
    }
  }

  /** The relay that talks to peers of `address`'s family. */
  relayFor(address: string): Relay | undefined {
    const v6 = address.includes(":");
    if (v6 === this.relay.address.includes(":")) return this.relay;
    return this.relay6 && v6 ? this.relay6 : undefined;
  }

  /** Closes the relay sockets and resolves once their ports are free (the allocation moves to another thread). */
  async closeRelays(): Promise<void> {
    await Promise.all(
      [this.relay, this.relay6].map(
        (relay) =>
          new Promise<void>((resolve) => {
            if (relay?.kind === "udp") relay.socket.close(() => resolve());
            else if (relay) relay.server.close(() => resolve());
            else resolve();
          }),
      ),
    );
  }

  close(): void {
    for (const relay of [this.relay, this.relay6]) {
      if (relay?.kind === "udp") relay.socket.close();
      else relay?.server.close();
    }
    for (const conn of this.peerConnections.values()) {
      clearTimeout(conn.timer);
      conn.socket.destroy();
    }
    this.peerConnections.clear();
  }
}
