import type { RemoteInfo } from "node:dgram";
import { encodeXorAddress } from "../stun/attributes/xor-address.js";
import { encodeChannelData } from "../stun/channel-data.js";
import { AttributeType, StunClass, StunMethod } from "../stun/constants.js";
import { MessageBuilder } from "../stun/message.js";
import type { Allocation } from "./allocation.js";

/** The counts the data plane keeps (the server's counters object). */
export interface RelayCounters {
  relayDropped: number;
  relayedToPeer: number;
  relayedToClient: number;
  bytesToPeer: number;
  bytesToClient: number;
}

/**
 * The UDP data plane (RFC 8656 §11–12): client → peer through a permission and the bandwidth cap, peer → client as
 * ChannelData when a channel is bound, else a Data indication. No parsing of payloads; the ChannelData path
 * allocates only the slice it sends. Policy (who may be a peer) is decided before anything reaches here.
 */
export class DataPlane {
  constructor(
    private readonly counters: RelayCounters,
    /** Always add FINGERPRINT to Data indications (coturn's -f). */
    private readonly fingerprint: boolean,
  ) {}

  /** A ChannelData frame from the client: to the channel's peer, or dropped (unbound channel, short frame). */
  channelData(allocation: Allocation, frame: Buffer): void {
    const length = frame.readUInt16BE(2);
    const binding = allocation.channels.get(frame.readUInt16BE(0));
    if (!binding || frame.length < 4 + length) {
      this.counters.relayDropped++;
      return;
    }
    this.toPeer(allocation, frame.subarray(4, 4 + length), binding.peer.address, binding.peer.port);
  }

  /** Client data for `address:port`, sent from the relay if a permission covers it and the bandwidth cap allows. */
  toPeer(allocation: Allocation, data: Buffer, address: string, port: number): void {
    const now = Date.now();
    const relay = allocation.relayFor(address);
    if (relay?.kind !== "udp" || !allocation.hasPermission(address, now) || !allocation.admit(data.length, now)) {
      this.counters.relayDropped++;
      return;
    }
    allocation.bytesToPeer += data.length;
    this.counters.relayedToPeer++;
    this.counters.bytesToPeer += data.length;
    relay.socket.send(data, port, address);
  }

  /** A datagram a peer sent to the relay address: to the client if permitted, on its channel if one is bound. */
  fromPeer(allocation: Allocation, data: Buffer, from: RemoteInfo): void {
    const now = Date.now();
    if (!allocation.hasPermission(from.address, now) || !allocation.admit(data.length, now)) {
      this.counters.relayDropped++;
      return;
    }
    allocation.bytesFromPeer += data.length;
    this.counters.relayedToClient++;
    this.counters.bytesToClient += data.length;
    const binding = allocation.channelsByPeer.get(`${from.address}|${from.port}`);
    if (binding) {
      allocation.link.send(encodeChannelData(binding.channel, data, allocation.link.stream));
      return;
    }
    const tid = Buffer.allocUnsafe(12);
    for (let i = 0; i < 12; i++) tid[i] = (Math.random() * 256) | 0;
    const indication = new MessageBuilder(StunMethod.Data, StunClass.Indication, tid)
      .add(AttributeType.XorPeerAddress, encodeXorAddress(from, tid))
      .add(AttributeType.Data, data)
      .build({ fingerprint: this.fingerprint });
    allocation.link.send(indication);
  }
}
