import { ErrorCode } from "../../stun/attributes/error-code.js";
import { decodeXorAddress, type TransportAddress } from "../../stun/attributes/xor-address.js";
import { MAX_CHANNEL, MIN_CHANNEL } from "../../stun/channel-data.js";
import { AttributeType, StunClass } from "../../stun/constants.js";
import { MessageBuilder } from "../../stun/message.js";
import { MAX_CHANNELS, MAX_PERMISSIONS } from "../allocation.js";
import type { TurnMethodHandler } from "../turn-method.js";
import { type MethodHost, ownAllocation } from "./host.js";

const PERMISSION_LIFETIME_MS = 300_000;
const CHANNEL_LIFETIME_MS = 600_000;

/** CreatePermission (RFC 8656 §9): all the request's peers or none, each checked against the peer policy. */
export const createPermission =
  (host: MethodHost): TurnMethodHandler =>
  async (msg, link, auth, reply) => {
    const allocation = ownAllocation(host, msg, link, auth.username, reply);
    if (Buffer.isBuffer(allocation)) return allocation;
    const peers: TransportAddress[] = [];
    for (const slot of msg.attributes) {
      if (slot.type !== AttributeType.XorPeerAddress) continue;
      try {
        peers.push(decodeXorAddress(msg.raw.subarray(slot.offset, slot.offset + slot.length), msg.transactionId));
      } catch (err) {
        return host.refuse(msg, link, ErrorCode.BadRequest, (err as Error).message, reply);
      }
    }
    if (peers.length === 0) return host.refuse(msg, link, ErrorCode.BadRequest, "no XOR-PEER-ADDRESS", reply);
    // RFC 8656 §9.2: all or nothing; a forbidden peer fails the whole request.
    for (const peer of peers) {
      const denied = await host.peerDenied(peer, allocation, false);
      if (denied) return host.refuse(msg, link, denied.code, denied.reason, reply);
    }
    const now = Date.now();
    for (const peer of peers) {
      if (!allocation.permissions.has(peer.address) && allocation.permissions.size >= MAX_PERMISSIONS) {
        return host.refuse(
          msg,
          link,
          ErrorCode.InsufficientCapacity,
          `more than ${MAX_PERMISSIONS} permissions`,
          reply,
        );
      }
      allocation.permissions.set(peer.address, now + PERMISSION_LIFETIME_MS);
      host.emit("permission", { ...host.info(allocation), peer: peer.address });
    }
    return host.seal(new MessageBuilder(msg.method, StunClass.SuccessResponse, msg.transactionId), reply);
  };

/** ChannelBind (RFC 8656 §11): binds or refreshes a channel, installing the peer's permission too (§12). */
export const channelBind =
  (host: MethodHost): TurnMethodHandler =>
  async (msg, link, auth, reply) => {
    const allocation = ownAllocation(host, msg, link, auth.username, reply);
    if (Buffer.isBuffer(allocation)) return allocation;
    const channelBuf = msg.get(AttributeType.ChannelNumber);
    const peerBuf = msg.get(AttributeType.XorPeerAddress);
    if (channelBuf?.length !== 4 || !peerBuf) {
      return host.refuse(msg, link, ErrorCode.BadRequest, "CHANNEL-NUMBER or XOR-PEER-ADDRESS missing", reply);
    }
    const channel = channelBuf.readUInt16BE(0);
    if (channel < MIN_CHANNEL || channel > MAX_CHANNEL) {
      return host.refuse(
        msg,
        link,
        ErrorCode.BadRequest,
        `channel 0x${channel.toString(16)} outside 0x4000-0x7FFF`,
        reply,
      );
    }
    let peer: TransportAddress;
    try {
      peer = decodeXorAddress(peerBuf, msg.transactionId);
    } catch (err) {
      return host.refuse(msg, link, ErrorCode.BadRequest, (err as Error).message, reply);
    }
    const denied = await host.peerDenied(peer, allocation, true);
    if (denied) return host.refuse(msg, link, denied.code, denied.reason, reply);
    const peerKey = `${peer.address}|${peer.port}`;
    const byNumber = allocation.channels.get(channel);
    const byPeer = allocation.channelsByPeer.get(peerKey);
    // RFC 8656 §11.2: a channel is bound to one peer and a peer to one channel, for the binding's lifetime.
    if ((byNumber && byNumber.peerKey !== peerKey) || (byPeer && byPeer.channel !== channel)) {
      return host.refuse(msg, link, ErrorCode.BadRequest, "channel or peer already bound differently", reply);
    }
    if (!byNumber && allocation.channels.size >= MAX_CHANNELS) {
      return host.refuse(msg, link, ErrorCode.InsufficientCapacity, "no channels left", reply);
    }
    // A ChannelBind installs a permission too (RFC 8656 §12), so it counts against the same cap as CreatePermission.
    if (!allocation.permissions.has(peer.address) && allocation.permissions.size >= MAX_PERMISSIONS) {
      return host.refuse(msg, link, ErrorCode.InsufficientCapacity, `more than ${MAX_PERMISSIONS} permissions`, reply);
    }
    const now = Date.now();
    const binding = byNumber ?? { channel, peer: { address: peer.address, port: peer.port }, peerKey, expiresAt: 0 };
    binding.expiresAt = now + CHANNEL_LIFETIME_MS;
    allocation.channels.set(channel, binding);
    allocation.channelsByPeer.set(peerKey, binding);
    allocation.permissions.set(peer.address, now + PERMISSION_LIFETIME_MS);
    host.emit("channel", { ...host.info(allocation), channel, peer: binding.peer });
    return host.seal(new MessageBuilder(msg.method, StunClass.SuccessResponse, msg.transactionId), reply);
  };
