import { randomBytes } from "node:crypto";
import type { Allocation, ChannelBinding } from "./allocation.js";

/**
 * An allocation on its way from one relay thread to another (RFC 8016 mobility): everything but its sockets, which
 * cannot cross threads. The receiving thread binds the same relay port(s) again, so the relayed address the client
 * and its peers know stays the same.
 */
export interface MovedAllocation {
  username: string;
  key: Uint8Array | undefined;
  transactionId: string;
  expiresAt: number;
  relay: { address: string; port: number };
  relay6: { address: string; port: number } | undefined;
  family6Error: boolean;
  permissions: Array<[string, number]>;
  channels: ChannelBinding[];
  bytesToPeer: number;
  bytesFromPeer: number;
  from: { address: string; port: number };
}

/**
 * RFC 8016 mobility tickets. A ticket names the relay thread that holds its allocation, so a Refresh that the kernel
 * hands to another thread (the client's new 5-tuple hashes elsewhere) knows where to ask.
 */
export class Tickets {
  private readonly byTicket = new Map<string, Allocation>();

  constructor(private readonly worker: number) {}

  /** A fresh ticket for `allocation`, replacing its old one (RFC 8016 §3.3: a new ticket on every refresh). */
  issue(allocation: Allocation): void {
    if (allocation.ticket) this.byTicket.delete(allocation.ticket);
    // The ticket is opaque (RFC 8016 §3.1), but coturn's turnutils_uclient keeps it as a C string: a zero byte cuts
    // it short and the move fails with 437 (16 random bytes have one about 6 % of the time). So it is ASCII text:
    // the thread's number and 16 random bytes in base64url, carried as hex here.
    const text = `${this.worker.toString(36)}.${randomBytes(16).toString("base64url")}`;
    allocation.ticket = Buffer.from(text).toString("hex");
    this.byTicket.set(allocation.ticket, allocation);
  }

  find(ticket: string): Allocation | undefined {
    return this.byTicket.get(ticket);
  }

  forget(allocation: Allocation): void {
    if (allocation.ticket) this.byTicket.delete(allocation.ticket);
  }

  /** The relay thread a ticket was issued by, or undefined when it is not one of ours. */
  static owner(ticket: Buffer): number | undefined {
    const m = /^([0-9a-z]{1,2})\.[\w-]{22}$/.exec(ticket.toString("latin1"));
    return m ? Number.parseInt(m[1]!, 36) : undefined;
  }
}

/** The state of `allocation` that survives a move to another thread. */
export function snapshot(allocation: Allocation): MovedAllocation {
  const { relay, relay6, link } = allocation;
  return {
    username: allocation.username,
    key: allocation.key,
    transactionId: allocation.transactionId,
    expiresAt: allocation.expiresAt,
    relay: { address: relay.address, port: relay.port },
    relay6: relay6 ? { address: relay6.address, port: relay6.port } : undefined,
    family6Error: allocation.family6Error,
    permissions: [...allocation.permissions],
    channels: [...allocation.channels.values()],
    bytesToPeer: allocation.bytesToPeer,
    bytesFromPeer: allocation.bytesFromPeer,
    from: { address: link.remoteAddress, port: link.remotePort },
  };
}
