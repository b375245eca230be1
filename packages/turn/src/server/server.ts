import type { RemoteInfo, Socket } from "node:dgram";
import { EventEmitter } from "eventemitter3";
import { TurnError } from "../errors.js";
import { ErrorCode } from "../stun/attributes/error-code.js";
import { AttributeType, isComprehensionRequired, StunClass, StunMethod } from "../stun/constants.js";
import { fingerprintMatches } from "../stun/fingerprint.js";
import { decodeMessage, looksLikeStun, type StunMessage } from "../stun/message.js";
import { methodName } from "../stun/message-type.js";
import { bindUdp, type UdpEndpoint } from "../transport/udp.js";
import { answerBinding } from "./binding.js";
import { errorResponse } from "./responses.js";

export interface TurnServerOptions {
  /** Addresses to listen on (coturn's -L). Default 127.0.0.1. */
  listeningIps?: string[];
  /** Port for UDP (coturn's -p). Default 3478; 0 picks a free port. */
  listeningPort?: number;
  /** SOFTWARE attribute value, or false to send none. */
  software?: string | false;
  /** Always add FINGERPRINT to responses (coturn's -f); otherwise only when the request had one. */
  fingerprint?: boolean;
}

export interface TurnServerCounters {
  packetsIn: number;
  /** Datagrams that were not STUN, failed to decode, or failed FINGERPRINT: dropped without an answer. */
  dropped: number;
  bindingRequests: number;
  errorResponses: number;
}

export interface TurnServerEvents {
  /** A request was refused; `reason` says why (never includes secrets). */
  rejected: (info: { from: RemoteInfo; method: string; code: number; reason: string }) => void;
}

const knownAttributeTypes = new Set<number>(Object.values(AttributeType));

/** A STUN/TURN server. This foundation answers STUN Binding over UDP; TURN methods arrive with issue #3. */
export class TurnServer extends EventEmitter<TurnServerEvents> {
  readonly counters: TurnServerCounters = { packetsIn: 0, dropped: 0, bindingRequests: 0, errorResponses: 0 };
  private readonly endpoints: UdpEndpoint[] = [];
  private state: "idle" | "listening" | "closed" = "idle";
  private readonly software: string | undefined;

  constructor(private readonly options: TurnServerOptions = {}) {
    super();
    this.software = options.software === false ? undefined : (options.software ?? "Parley TURN");
  }

  /** The bound UDP addresses, once `listen()` has resolved. */
  get addresses(): { address: string; port: number }[] {
    return this.endpoints.map(({ address, port }) => ({ address, port }));
  }

  async listen(): Promise<this> {
    if (this.state !== "idle") throw new TurnError("CLOSED", `listen() called on a server that is ${this.state}`);
    this.state = "listening";
    const port = this.options.listeningPort ?? 3478;
    try {
      for (const ip of this.options.listeningIps ?? ["127.0.0.1"]) {
        this.endpoints.push(await bindUdp(ip, port, (data, from, via) => this.onPacket(data, from, via)));
      }
    } catch (err) {
      await this.close();
      throw err;
    }
    return this;
  }

  /** Stops listening. Safe to call more than once. */
  async close(): Promise<void> {
    this.state = "closed";
    const sockets = this.endpoints.splice(0).map((e) => e.socket);
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private onPacket(data: Buffer, from: RemoteInfo, via: Socket): void {
    this.counters.packetsIn++;
    if (!looksLikeStun(data)) {
      this.counters.dropped++;
      return;
    }
    let msg: StunMessage;
    try {
      msg = decodeMessage(data);
    } catch {
      // RFC 8489 §6.3: a malformed message is silently discarded.
      this.counters.dropped++;
      return;
    }
    if (!fingerprintMatches(msg)) {
      this.counters.dropped++;
      return;
    }
    if (msg.cls !== StunClass.Request) return; // Binding indications are keepalives; nothing to answer.
    const reply = this.handleRequest(msg, from, via);
    via.send(reply, from.port, from.address);
  }

  private handleRequest(msg: StunMessage, from: RemoteInfo, via: Socket): Buffer {
    const fingerprint = this.options.fingerprint === true || msg.fingerprintOffset !== -1;
    const unknown = msg.attributes
      .filter((a) => isComprehensionRequired(a.type) && !knownAttributeTypes.has(a.type))
      .map((a) => a.type);
    if (unknown.length > 0) {
      return this.refuse(msg, from, ErrorCode.UnknownAttribute, "unknown comprehension-required attributes", {
        unknownAttributes: unknown,
        fingerprint,
      });
    }
    if (msg.method === StunMethod.Binding) {
      this.counters.bindingRequests++;
      const local = via.address();
      return answerBinding(msg, {
        from: { address: from.address, port: from.port },
        local: { address: local.address, port: local.port },
        software: this.software,
        fingerprint,
      });
    }
    return this.refuse(msg, from, ErrorCode.BadRequest, `method ${methodName(msg.method)} is not supported`, {
      fingerprint,
    });
  }

  private refuse(
    msg: StunMessage,
    from: RemoteInfo,
    code: number,
    reason: string,
    options: { unknownAttributes?: number[]; fingerprint: boolean },
  ): Buffer {
    this.counters.errorResponses++;
    this.emit("rejected", { from, method: methodName(msg.method), code, reason });
    return errorResponse(msg, code, { ...options, software: this.software });
  }
}

export function createTurnServer(options: TurnServerOptions = {}): TurnServer {
  return new TurnServer(options);
}
