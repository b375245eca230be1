import { randomBytes } from "node:crypto";
import { createSocket, type Socket as DgramSocket } from "node:dgram";
import { isIPv6, connect as netConnect, type Socket } from "node:net";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import { EventEmitter } from "eventemitter3";
import { TurnError } from "../errors.js";
import { decodeErrorCode } from "../stun/attributes/error-code.js";
import {
  decodePasswordAlgorithms,
  encodePasswordAlgorithm,
  PasswordAlgorithm,
} from "../stun/attributes/password-algorithms.js";
import { decodeXorAddress, encodeXorAddress, type TransportAddress } from "../stun/attributes/xor-address.js";
import { encodeChannelData, isChannelData, MIN_CHANNEL } from "../stun/channel-data.js";
import { AttributeType, StunClass, StunMethod } from "../stun/constants.js";
import { integrityMatches, integritySha256Matches, longTermKey } from "../stun/integrity.js";
import { decodeMessage, looksLikeStun, MessageBuilder, type StunMessage } from "../stun/message.js";
import { methodName } from "../stun/message-type.js";
import { StreamFramer } from "../transport/stream-framer.js";

export interface TurnClientOptions {
  host: string;
  port: number;
  transport?: "udp" | "tcp" | "tls";
  username: string;
  password: string;
  /** TLS options (servername, ca, rejectUnauthorized) for transport "tls". */
  tls?: ConnectionOptions;
  /** Per-request timeout; UDP requests are retransmitted within it (RFC 8489 §6.2.1). Default 5 s. */
  timeoutMs?: number;
  /** "auto" (default) uses MESSAGE-INTEGRITY-SHA256 when the server offers it (RFC 8489 §9.2), "md5" never does. */
  passwordAlgorithm?: "auto" | "md5";
}

export interface Peer {
  address: string;
  port: number;
}

export interface TurnClientEvents {
  /** Data relayed from `peer` (from a Data indication or a bound channel). */
  data: (data: Buffer, peer: Peer) => void;
  close: () => void;
}

interface Pending {
  resolve: (msg: StunMessage) => void;
  reject: (err: TurnError) => void;
  timer: NodeJS.Timeout;
  retransmit?: NodeJS.Timeout;
}

/** A TURN client (RFC 8656) over UDP, TCP or TLS: the tests' and `parley-turn probe`'s way to drive a server. */
export class TurnClient extends EventEmitter<TurnClientEvents> {
  private udp: DgramSocket | undefined;
  private stream: Socket | undefined;
  private readonly framer = new StreamFramer();
  private readonly pending = new Map<string, Pending>();
  private readonly channels = new Map<string, number>();
  private readonly channelPeers = new Map<number, Peer>();
  private nextChannel = MIN_CHANNEL;
  private realm: string | undefined;
  private nonce: string | undefined;
  private key: Buffer | undefined;
  private offeredAlgorithms: Buffer | undefined;
  /** Which MESSAGE-INTEGRITY the client signs with, once the server's challenge has been seen. */
  integrity: "md5" | "sha256" | undefined;
  private closed = false;
  /** Our address as the server sees it, from the last Allocate or Binding. */
  mapped: TransportAddress | undefined;
  /** The relayed transport address, once allocated. */
  relayed: TransportAddress | undefined;

  private constructor(private readonly options: TurnClientOptions) {
    super();
  }

  get transport(): "udp" | "tcp" | "tls" {
    return this.options.transport ?? "udp";
  }

  static async connect(options: TurnClientOptions): Promise<TurnClient> {
    const client = new TurnClient(options);
    await client.open();
    return client;
  }

  private async open(): Promise<void> {
    const { host, port } = this.options;
    if (this.transport === "udp") {
      const socket = createSocket(isIPv6(host) ? "udp6" : "udp4");
      this.udp = socket;
      socket.on("message", (data) => this.onFrame(data));
      socket.on("error", () => {});
      await new Promise<void>((resolve) => socket.bind(0, () => resolve()));
      return;
    }
    const socket =
      this.transport === "tls"
        ? tlsConnect({ host, port, servername: isIPv6(host) ? undefined : host, ...this.options.tls })
        : netConnect({ host, port, noDelay: true });
    this.stream = socket;
    await new Promise<void>((resolve, reject) => {
      socket.once(this.transport === "tls" ? "secureConnect" : "connect", () => resolve());
      socket.once("error", (err) =>
        reject(new TurnError("CONNECT_FAILED", `cannot reach ${this.transport}://${host}:${port}: ${err.message}`)),
      );
    });
    socket.on("error", () => {});
    socket.on("data", (chunk) => {
      if (!this.framer.push(chunk, (frame) => this.onFrame(frame))) socket.destroy();
    });
    socket.on("close", () => this.shutdown(`connection to ${host}:${port} closed`));
  }

  /** Binding request: our reflexive address. Needs no credentials. */
  async binding(): Promise<TransportAddress> {
    const res = await this.transact(StunMethod.Binding, [], false);
    const xma = res.get(AttributeType.XorMappedAddress);
    if (!xma) throw new TurnError("ERROR_RESPONSE", "Binding response without XOR-MAPPED-ADDRESS");
    this.mapped = decodeXorAddress(xma, res.transactionId);
    return this.mapped;
  }

  /** Allocate a UDP relay (RFC 8656 §7). Resolves with the relayed address and granted lifetime. */
  async allocate(
    options: {
      lifetime?: number;
      family?: 4 | 6;
      dual?: boolean;
      /** EVEN-PORT; "reserve" also sets the R bit so the next port is held for a later Allocate. */
      evenPort?: boolean | "reserve";
      /** RESERVATION-TOKEN from an earlier EVEN-PORT "reserve" allocation: take the port it holds. */
      reservationToken?: Buffer;
      /** Ask for an RFC 8016 mobility ticket (the server must run with mobility on). */
      mobility?: boolean;
    } = {},
  ): Promise<{
    relayed: TransportAddress;
    relayed6?: TransportAddress;
    lifetime: number;
    reservationToken?: Buffer;
    mobilityTicket?: Buffer;
  }> {
    const attrs: Array<[number, Buffer]> = [[AttributeType.RequestedTransport, Buffer.from([17, 0, 0, 0])]];
    if (options.lifetime !== undefined) attrs.push([AttributeType.Lifetime, u32(options.lifetime)]);
    if (options.family)
      attrs.push([AttributeType.RequestedAddressFamily, Buffer.from([options.family === 6 ? 2 : 1, 0, 0, 0])]);
    if (options.dual) attrs.push([AttributeType.AdditionalAddressFamily, Buffer.from([2, 0, 0, 0])]);
    if (options.evenPort)
      attrs.push([AttributeType.EvenPort, Buffer.from([options.evenPort === "reserve" ? 0x80 : 0])]);
    if (options.reservationToken) attrs.push([AttributeType.ReservationToken, options.reservationToken]);
    if (options.mobility) attrs.push([AttributeType.MobilityTicket, Buffer.alloc(0)]);
    const res = await this.transact(StunMethod.Allocate, attrs, true);
    const relayed = res.get(AttributeType.XorRelayedAddress);
    const mapped = res.get(AttributeType.XorMappedAddress);
    if (!relayed) throw new TurnError("ERROR_RESPONSE", "Allocate success without XOR-RELAYED-ADDRESS");
    this.relayed = decodeXorAddress(relayed, res.transactionId);
    if (mapped) this.mapped = decodeXorAddress(mapped, res.transactionId);
    const second = res.attributes.filter((a) => a.type === AttributeType.XorRelayedAddress)[1];
    const relayed6 = second
      ? decodeXorAddress(res.raw.subarray(second.offset, second.offset + second.length), res.transactionId)
      : undefined;
    const lifetime = res.get(AttributeType.Lifetime)?.readUInt32BE(0) ?? 0;
    const token = res.get(AttributeType.ReservationToken);
    const ticket = res.get(AttributeType.MobilityTicket);
    return {
      relayed: this.relayed,
      lifetime,
      ...(relayed6 ? { relayed6 } : {}),
      ...(token ? { reservationToken: Buffer.from(token) } : {}),
      ...(ticket ? { mobilityTicket: Buffer.from(ticket) } : {}),
    };
  }

  /** Refresh; lifetime 0 deletes the allocation. Resolves with the granted lifetime. */
  async refresh(lifetime?: number): Promise<number> {
    const attrs: Array<[number, Buffer]> = lifetime === undefined ? [] : [[AttributeType.Lifetime, u32(lifetime)]];
    const res = await this.transact(StunMethod.Refresh, attrs, true);
    return res.get(AttributeType.Lifetime)?.readUInt32BE(0) ?? 0;
  }

  async createPermission(...peers: string[]): Promise<void> {
    const tid = randomBytes(12);
    const attrs: Array<[number, Buffer]> = peers.map((address) => [
      AttributeType.XorPeerAddress,
      encodeXorAddress({ address, port: 0 }, tid),
    ]);
    await this.transact(StunMethod.CreatePermission, attrs, true, tid);
  }

  /** Binds a channel to `peer` (installing a permission too) and returns its number. */
  async bindChannel(peer: Peer): Promise<number> {
    const key = `${peer.address}|${peer.port}`;
    const channel = this.channels.get(key) ?? this.nextChannel++;
    const tid = randomBytes(12);
    await this.transact(
      StunMethod.ChannelBind,
      [
        [AttributeType.ChannelNumber, Buffer.from([channel >> 8, channel & 0xff, 0, 0])],
        [AttributeType.XorPeerAddress, encodeXorAddress(peer, tid)],
      ],
      true,
      tid,
    );
    this.channels.set(key, channel);
    this.channelPeers.set(channel, { address: peer.address, port: peer.port });
    return channel;
  }

  /** Sends `data` to `peer` through the relay: ChannelData if a channel is bound, else a Send indication. */
  send(peer: Peer, data: Buffer): void {
    const channel = this.channels.get(`${peer.address}|${peer.port}`);
    if (channel !== undefined) {
      this.write(encodeChannelData(channel, data, this.transport !== "udp"));
      return;
    }
    const tid = randomBytes(12);
    this.write(
      new MessageBuilder(StunMethod.Send, StunClass.Indication, tid)
        .add(AttributeType.XorPeerAddress, encodeXorAddress(peer, tid))
        .add(AttributeType.Data, data)
        .build(),
    );
  }

  /** Closes the socket; pending requests reject with CLOSED. Safe to call twice. */
  close(): void {
    this.shutdown("client closed");
  }

  private shutdown(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      clearTimeout(p.retransmit);
      p.reject(new TurnError("CLOSED", reason));
    }
    this.pending.clear();
    this.udp?.close();
    this.stream?.destroy();
    this.emit("close");
  }

  private write(buf: Buffer): void {
    if (this.closed) throw new TurnError("CLOSED", "client is closed");
    if (this.udp) this.udp.send(buf, this.options.port, this.options.host);
    else this.stream?.write(buf);
  }

  /**
   * One request with long-term authentication (RFC 8489 §9.2): the first attempt goes without credentials unless a
   * nonce is known; a 401 supplies realm and nonce, a 438 a fresh nonce; each is retried once.
   */
  private async transact(
    method: number,
    attrs: Array<[number, Buffer]>,
    authenticated: boolean,
    tid: Buffer = randomBytes(12),
  ): Promise<StunMessage> {
    for (let attempt = 0; ; attempt++) {
      const builder = new MessageBuilder(method, StunClass.Request, tid);
      for (const [type, value] of attrs) builder.add(type, value);
      const signed = authenticated && this.key && this.realm && this.nonce;
      const sha256 = this.integrity === "sha256";
      if (signed) {
        builder
          .add(AttributeType.Username, Buffer.from(this.options.username))
          .add(AttributeType.Realm, Buffer.from(this.realm!))
          .add(AttributeType.Nonce, Buffer.from(this.nonce!));
        // RFC 8489 §9.2.4: a client that was offered PASSWORD-ALGORITHMS names its choice and echoes the offer.
        if (this.offeredAlgorithms) {
          builder
            .add(
              AttributeType.PasswordAlgorithm,
              encodePasswordAlgorithm(sha256 ? PasswordAlgorithm.SHA256 : PasswordAlgorithm.MD5),
            )
            .add(AttributeType.PasswordAlgorithms, this.offeredAlgorithms);
        }
      }
      const packet = builder.build({
        integrityKey: signed && !sha256 ? this.key : undefined,
        integritySha256Key: signed && sha256 ? this.key : undefined,
        fingerprint: true,
      });
      const res = await this.request(packet, tid);
      if (res.cls === StunClass.SuccessResponse) {
        const verified = sha256 ? integritySha256Matches(res, this.key!) : integrityMatches(res, this.key!);
        if (signed && !verified) {
          throw new TurnError("AUTH_FAILED", `${methodName(method)} response failed MESSAGE-INTEGRITY`);
        }
        return res;
      }
      const { code, reason } = decodeErrorCode(res.get(AttributeType.ErrorCode) ?? Buffer.from([0, 0, 5, 0]));
      const realm = res.get(AttributeType.Realm)?.toString("utf8");
      const nonce = res.get(AttributeType.Nonce)?.toString("utf8");
      if ((code === 401 || code === 438) && authenticated && nonce && realm && attempt < 2) {
        if (code === 401 && signed) {
          throw new TurnError(
            "AUTH_FAILED",
            `${methodName(method)}: 401 ${reason} (user "${this.options.username}")`,
            401,
          );
        }
        this.realm = realm;
        this.nonce = nonce;
        const offered = res.get(AttributeType.PasswordAlgorithms);
        const canSha256 =
          this.options.passwordAlgorithm !== "md5" &&
          nonce.startsWith("obMatJos2") &&
          offered !== undefined &&
          safeDecodeAlgorithms(offered).includes(PasswordAlgorithm.SHA256);
        this.offeredAlgorithms = offered && nonce.startsWith("obMatJos2") ? Buffer.from(offered) : undefined;
        this.integrity = canSha256 ? "sha256" : "md5";
        this.key = longTermKey(this.options.username, realm, this.options.password, canSha256 ? "sha256" : "md5");
        tid = randomBytes(12);
        for (const a of attrs) {
          // XOR-encoded addresses depend on the transaction id; re-encode them for the new one.
          if (a[0] === AttributeType.XorPeerAddress) a[1] = reencode(a[1], res.transactionId, tid);
        }
        continue;
      }
      throw new TurnError("ERROR_RESPONSE", `${methodName(method)}: ${code} ${reason}`, code);
    }
  }

  private request(packet: Buffer, tid: Buffer): Promise<StunMessage> {
    const key = tid.toString("hex");
    const timeoutMs = this.options.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        resolve,
        reject,
        timer: setTimeout(() => {
          clearTimeout(pending.retransmit);
          this.pending.delete(key);
          reject(
            new TurnError("TIMEOUT", `no answer from ${this.options.host}:${this.options.port} in ${timeoutMs} ms`),
          );
        }, timeoutMs),
      };
      if (this.udp) {
        let rto = 500; // RFC 8489 §6.2.1 initial RTO
        const resend = () => {
          pending.retransmit = setTimeout(() => {
            if (this.closed) return;
            this.write(packet);
            rto *= 2;
            resend();
          }, rto);
        };
        resend();
      }
      this.pending.set(key, pending);
      try {
        this.write(packet);
      } catch (err) {
        clearTimeout(pending.timer);
        clearTimeout(pending.retransmit);
        this.pending.delete(key);
        reject(err as TurnError);
      }
    });
  }

  private onFrame(frame: Buffer): undefined {
    if (isChannelData(frame)) {
      const peer = this.channelPeers.get(frame.readUInt16BE(0));
      const length = frame.readUInt16BE(2);
      if (peer && frame.length >= 4 + length) this.emit("data", frame.subarray(4, 4 + length), peer);
      return;
    }
    if (!looksLikeStun(frame)) return;
    let msg: StunMessage;
    try {
      msg = decodeMessage(frame);
    } catch {
      return;
    }
    if (msg.cls === StunClass.Indication) {
      if (msg.method !== StunMethod.Data) return;
      const peer = msg.get(AttributeType.XorPeerAddress);
      const data = msg.get(AttributeType.Data);
      if (!peer || !data) return;
      try {
        const from = decodeXorAddress(peer, msg.transactionId);
        this.emit("data", Buffer.from(data), { address: from.address, port: from.port });
      } catch {}
      return;
    }
    const key = msg.transactionId.toString("hex");
    const pending = this.pending.get(key);
    if (!pending) return;
    this.pending.delete(key);
    clearTimeout(pending.timer);
    clearTimeout(pending.retransmit);
    pending.resolve(msg);
  }
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}

function safeDecodeAlgorithms(value: Buffer): number[] {
  try {
    return decodePasswordAlgorithms(value);
  } catch {
    return [];
  }
}

function reencode(value: Buffer, oldTid: Buffer, newTid: Buffer): Buffer {
  return encodeXorAddress(decodeXorAddress(value, oldTid), newTid);
}
