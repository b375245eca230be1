import { SignalErrorCode } from "../../protocol/errors.js";
import type { ClientMessage, Hello } from "../../protocol/messages.js";
import { type Grant, mayJoin } from "../auth.js";
import type { ScriptName } from "./scripts.js";

export type Script = [ScriptName, ...Array<string | number>];

/** What a client message becomes on a cluster node: a script to run, an answer given at once, or a refusal. */
export type Plan = { script: Script } | { answer: string } | { refuse: [SignalErrorCode, string] };

type Request = Exclude<ClientMessage, Hello>;
type Held = { id: string; epoch: string; grant: Grant };
type Limits = { roomCapacity: number; roomsPerConnection: number };
type Planner<T extends Request["type"]> = (s: Held, msg: Extract<Request, { type: T }>, limits: Limits) => Plan;

/**
 * One row per client message: the checks a node makes on its own (the grant) and the script that does the rest in
 * Redis (scripts.ts), with its arguments. Bodies are serialized here, once; the scripts only append `seq`.
 */
export const PLANS: { [T in Request["type"]]: Planner<T> } = {
  // Answered by the node: liveness needs no store (and still works while Redis is down).
  ping: (_s, msg) => ({ answer: JSON.stringify({ type: "pong", re: msg.id }) }),
  received: (s, msg) => ({ script: ["received", s.id, s.epoch, msg.seq] }),
  signal: (s, msg) => {
    const body = JSON.stringify({ type: "signal", room: msg.room, from: s.id, kind: msg.kind, payload: msg.payload });
    return { script: ["signal", s.id, s.epoch, msg.id ?? "", msg.room, msg.to, body] };
  },
  broadcast: (s, msg) => {
    if (!s.grant.canBroadcast) return { refuse: [SignalErrorCode.Forbidden, "this token may not broadcast"] };
    const body = JSON.stringify({ type: "broadcast", room: msg.room, from: s.id, payload: msg.payload });
    return { script: ["broadcast", s.id, s.epoch, msg.id ?? "", msg.room, body] };
  },
  join: (s, msg, limits) => {
    if (!mayJoin(s.grant, msg.room))
      return { refuse: [SignalErrorCode.Forbidden, `not allowed to join room "${msg.room}"`] };
    const member = JSON.stringify({ id: s.id, ...(msg.metadata ? { metadata: msg.metadata } : {}) });
    const { roomCapacity, roomsPerConnection } = limits;
    return { script: ["join", s.id, s.epoch, msg.id ?? "", msg.room, member, roomCapacity, roomsPerConnection] };
  },
  leave: (s, msg) => ({ script: ["leave", s.id, s.epoch, msg.id ?? "", msg.room] }),
};

/** Close codes for a connection Redis says no longer holds its session (the guard in scripts.ts). */
export const LOST_HOLD: Record<string, [number, string]> = {
  "!moved": [4001, "session resumed on another connection"],
  "!gone": [4003, "the session was ended"],
  // "!detached" (this node was taken for dead) and anything else: resume, on any node, to continue.
};
