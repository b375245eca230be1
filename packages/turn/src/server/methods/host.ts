import type { EventEmitter } from "eventemitter3";
import { ErrorCode } from "../../stun/attributes/error-code.js";
import type { TransportAddress } from "../../stun/attributes/xor-address.js";
import type { MessageBuilder, StunMessage } from "../../stun/message.js";
import type { Allocation } from "../allocation.js";
import type { ClientLink } from "../client-link.js";
import type { EngineContext } from "../engine.js";
import type { Tickets } from "../mobility.js";
import type { DataPlane } from "../relay.js";
import type { RelayPorts } from "../relay-ports.js";
import type { AllocationInfo, TurnServerCounters, TurnServerEvents, TurnServerOptions } from "../server.js";
import type { TcpRelay } from "../tcp-relay.js";
import type { Reply } from "../turn-method.js";

/** What the TURN method handlers (one file each) use of their relay thread's engine. */
export interface MethodHost {
  readonly options: TurnServerOptions;
  readonly ctx: EngineContext;
  readonly state: "idle" | "listening" | "closed";
  readonly counters: TurnServerCounters;
  /** Allocations by client 5-tuple (ClientLink.key). */
  readonly allocations: Map<string, Allocation>;
  /** Allocates still binding their relay port, by 5-tuple → transaction id. */
  readonly allocating: Map<string, string>;
  readonly ports: RelayPorts;
  readonly tickets: Tickets;
  readonly dataPlane: DataPlane;
  readonly tcpRelay: TcpRelay;
  emit: EventEmitter<TurnServerEvents>["emit"];
  info(allocation: Allocation): AllocationInfo;
  refuse(msg: StunMessage, link: ClientLink, code: number, reason: string, reply: Reply): Buffer;
  seal(builder: MessageBuilder, reply: Reply): Buffer;
  peerDenied(
    peer: TransportAddress,
    allocation: Allocation,
    withPort: boolean,
  ): Promise<{ code: number; reason: string } | undefined>;
  relayIpFor(family: 4 | 6): string | undefined;
  grantLifetime(msg: StunMessage, fallback: number): number;
  deleteAllocation(allocation: Allocation, reason: string): void;
}

/** RFC 8656 §7.2/§8.1: the default allocation lifetime, seconds. */
export const DEFAULT_LIFETIME = 600;

/** RFC 8656 §5: the allocation on this 5-tuple, if the request's user owns it; else the error response (437, 441). */
export function ownAllocation(
  host: MethodHost,
  msg: StunMessage,
  link: ClientLink,
  username: string,
  reply: Reply,
): Allocation | Buffer {
  const allocation = host.allocations.get(link.key);
  if (!allocation) return host.refuse(msg, link, ErrorCode.AllocationMismatch, "no allocation for this 5-tuple", reply);
  if (allocation.username !== username) {
    return host.refuse(msg, link, ErrorCode.WrongCredentials, "allocation belongs to another user", reply);
  }
  return allocation;
}
