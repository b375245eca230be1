import { ErrorCode } from "../../stun/attributes/error-code.js";
import { AttributeType, StunClass } from "../../stun/constants.js";
import { MessageBuilder } from "../../stun/message.js";
import { Allocation } from "../allocation.js";
import type { Authenticated } from "../authenticate.js";
import type { ClientLink } from "../client-link.js";
import { type MovedAllocation, Tickets } from "../mobility.js";
import { u32 } from "../responses.js";
import type { TurnMethodHandler } from "../turn-method.js";
import { DEFAULT_LIFETIME, type MethodHost } from "./host.js";

/**
 * Refresh (RFC 8656 §8), with RFC 8016 mobility: a Refresh from a new 5-tuple carrying a MOBILITY-TICKET moves the
 * allocation there — within this relay thread, or from the thread the ticket names.
 */
export const refresh =
  (host: MethodHost): TurnMethodHandler =>
  async (msg, link, auth, reply) => {
    let allocation = host.allocations.get(link.key);
    const ticket = host.options.mobility ? msg.get(AttributeType.MobilityTicket) : undefined;
    if (!allocation && ticket && ticket.length > 0) allocation = await move(host, ticket, link, auth);
    if (!allocation)
      return host.refuse(msg, link, ErrorCode.AllocationMismatch, "no allocation for this 5-tuple", reply);
    if (allocation.username !== auth.username) {
      return host.refuse(msg, link, ErrorCode.WrongCredentials, "allocation belongs to another user", reply);
    }
    if (ticket && allocation.ticket) host.tickets.issue(allocation);
    const lifetime = host.grantLifetime(msg, DEFAULT_LIFETIME);
    if (lifetime === 0) host.deleteAllocation(allocation, "refresh-zero");
    else {
      allocation.expiresAt = Date.now() + lifetime * 1000;
      host.emit("allocation-refreshed", { ...host.info(allocation), lifetime });
    }
    const b = new MessageBuilder(msg.method, StunClass.SuccessResponse, msg.transactionId).add(
      AttributeType.Lifetime,
      u32(lifetime),
    );
    if (lifetime > 0 && allocation.ticket) b.add(AttributeType.MobilityTicket, Buffer.from(allocation.ticket, "hex"));
    return host.seal(b, reply);
  };

/**
 * RFC 8016 §3.3: a Refresh from a new 5-tuple carrying the ticket moves the allocation there — within this thread,
 * or from the thread the ticket names (the new 5-tuple may hash to another reusePort socket).
 */
async function move(
  host: MethodHost,
  ticket: Buffer,
  link: ClientLink,
  auth: Authenticated,
): Promise<Allocation | undefined> {
  const hex = ticket.toString("hex");
  const local = host.tickets.find(hex);
  if (local) {
    if (local.username !== auth.username || local.link.transport !== link.transport) return undefined;
    const from = { address: local.link.remoteAddress, port: local.link.remotePort };
    host.allocations.delete(local.link.key);
    local.link = link;
    host.allocations.set(link.key, local);
    host.emit("allocation-moved", { ...host.info(local), from });
    return local;
  }
  const owner = Tickets.owner(ticket);
  if (owner === undefined || owner === host.ctx.worker || !host.ctx.elsewhere) return undefined;
  const moved = await host.ctx.elsewhere
    .takeAllocation(owner, hex, auth.username, link.transport)
    .catch(() => undefined);
  return moved && adopt(host, moved, link);
}

/** Rebuilds an allocation that moved here from another thread, on the same relay port(s). */
async function adopt(host: MethodHost, moved: MovedAllocation, link: ClientLink): Promise<Allocation | undefined> {
  const relay = await host.ports.bindExact(moved.relay.address, moved.relay.port);
  const relay6 = moved.relay6 && (await host.ports.bindExact(moved.relay6.address, moved.relay6.port));
  if (!relay || (moved.relay6 && !relay6) || host.state !== "listening" || host.allocations.has(link.key)) {
    // Its port was taken in the moment between the two threads: the allocation is lost, as a crash would lose it.
    relay?.socket.close();
    relay6?.socket.close();
    host.ctx.release(moved.username);
    host.emit("allocation-deleted", {
      username: moved.username,
      client: { transport: link.transport, address: moved.from.address, port: moved.from.port },
      relay: moved.relay,
      reason: "closed",
    });
    return undefined;
  }
  const key = moved.key ? Buffer.from(moved.key) : undefined;
  const allocation = new Allocation(
    link,
    { kind: "udp", ...relay },
    moved.username,
    key,
    moved.transactionId,
    0,
    host.options.maxBytesPerSecond ?? 0,
  );
  allocation.expiresAt = moved.expiresAt;
  allocation.family6Error = moved.family6Error;
  allocation.bytesToPeer = moved.bytesToPeer;
  allocation.bytesFromPeer = moved.bytesFromPeer;
  for (const [address, expiry] of moved.permissions) allocation.permissions.set(address, expiry);
  for (const binding of moved.channels) {
    allocation.channels.set(binding.channel, binding);
    allocation.channelsByPeer.set(binding.peerKey, binding);
  }
  if (relay6) allocation.relay6 = { kind: "udp", ...relay6 };
  for (const r of [relay, relay6])
    r?.socket.on("message", (data, from) => host.dataPlane.fromPeer(allocation, data, from));
  host.tickets.issue(allocation);
  host.allocations.set(link.key, allocation);
  host.emit("allocation-moved", { ...host.info(allocation), from: moved.from });
  return allocation;
}
