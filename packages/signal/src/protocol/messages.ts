import * as v from "valibot";

/** The protocol version this build speaks. A hello with another version is refused (PROTOCOL.md). */
export const PROTOCOL_VERSION = 1;

const id = v.pipe(v.string(), v.minLength(1), v.maxLength(64));
const roomName = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(128),
  v.regex(/^[\w.:@-]+$/, "room names use [A-Za-z0-9_.:@-]"),
);
/** Free-form JSON the server passes through untouched; its size is bounded by the frame limit. */
const opaque = v.unknown();
/** A member's metadata: a JSON object (an array or a string is BAD_MESSAGE). In the JSON Schema: `type: object`. */
export const MetadataObject = v.custom<Record<string, unknown>>(
  (m) => typeof m === "object" && m !== null && !Array.isArray(m),
  "metadata must be an object",
);
const metadata = v.optional(MetadataObject);

export const SignalKind = v.picklist(["offer", "answer", "candidate", "end-of-candidates", "restart"]);

// ---- client → server --------------------------------------------------------------------------------------------

export const HelloSchema = v.strictObject({
  type: v.literal("hello"),
  id,
  version: v.pipe(v.number(), v.integer(), v.minValue(0)),
  token: v.optional(v.pipe(v.string(), v.maxLength(4096))),
  /** Resume an earlier session: its id, the secret token from its welcome, and the last `seq` the client saw. */
  resume: v.optional(
    v.strictObject({
      sessionId: id,
      resumeToken: v.pipe(v.string(), v.maxLength(128)),
      lastSeq: v.pipe(v.number(), v.integer(), v.minValue(0)),
    }),
  ),
});

export const JoinSchema = v.strictObject({ type: v.literal("join"), id, room: roomName, metadata });
export const LeaveSchema = v.strictObject({ type: v.literal("leave"), id, room: roomName });
export const SendSignalSchema = v.strictObject({
  type: v.literal("signal"),
  id: v.optional(id),
  room: roomName,
  to: id,
  kind: SignalKind,
  payload: opaque,
});
export const SendBroadcastSchema = v.strictObject({
  type: v.literal("broadcast"),
  id: v.optional(id),
  room: roomName,
  payload: opaque,
});
export const PingSchema = v.strictObject({ type: v.literal("ping"), id });
/** The client processed every message through `seq`: the server may forget them (no answer). */
export const ReceivedSchema = v.strictObject({
  type: v.literal("received"),
  seq: v.pipe(v.number(), v.integer(), v.minValue(0)),
});

export const ClientMessageSchema = v.variant("type", [
  HelloSchema,
  JoinSchema,
  LeaveSchema,
  SendSignalSchema,
  SendBroadcastSchema,
  PingSchema,
  ReceivedSchema,
]);

// ---- server → client --------------------------------------------------------------------------------------------

const member = v.object({ id, metadata: v.optional(v.record(v.string(), v.unknown())) });
const iceServer = v.object({
  urls: v.union([v.string(), v.array(v.string())]),
  username: v.optional(v.string()),
  credential: v.optional(v.string()),
});
/** `seq` numbers every message addressed to a session, so a resumed client gets each exactly once, in order. */
const seq = v.pipe(v.number(), v.integer());

export const WelcomeSchema = v.object({
  type: v.literal("welcome"),
  re: id,
  version: v.number(),
  sessionId: id,
  resumeToken: v.string(),
  resumed: v.boolean(),
  rooms: v.array(v.string()),
  iceServers: v.array(iceServer),
  limits: v.object({
    maxMessageBytes: v.number(),
    messagesPerSecond: v.number(),
    roomsPerConnection: v.number(),
    resumeWindowMs: v.number(),
  }),
});
export const JoinedSchema = v.object({
  type: v.literal("joined"),
  re: id,
  room: v.string(),
  self: id,
  members: v.array(member),
});
export const LeftSchema = v.object({ type: v.literal("left"), re: id, room: v.string() });
export const AckSchema = v.object({ type: v.literal("ack"), re: id });
export const PongSchema = v.object({ type: v.literal("pong"), re: id });
export const MemberJoinedSchema = v.object({ type: v.literal("member-joined"), seq, room: v.string(), member });
export const MemberLeftSchema = v.object({ type: v.literal("member-left"), seq, room: v.string(), memberId: id });
/** You are no longer in `room` (an operator closed it); your session goes on. */
export const RemovedSchema = v.object({ type: v.literal("removed"), seq, room: v.string(), reason: v.string() });
/** A member joined again with other metadata. */
export const MemberUpdatedSchema = v.object({ type: v.literal("member-updated"), seq, room: v.string(), member });
export const SignalSchema = v.object({
  type: v.literal("signal"),
  seq,
  room: v.string(),
  from: id,
  kind: SignalKind,
  payload: opaque,
});
export const BroadcastSchema = v.object({
  type: v.literal("broadcast"),
  seq,
  room: v.string(),
  from: id,
  payload: opaque,
});
export const IceServersSchema = v.object({ type: v.literal("ice-servers"), iceServers: v.array(iceServer) });
export const ByeSchema = v.object({ type: v.literal("bye"), reason: v.string() });
export const ErrorSchema = v.object({
  type: v.literal("error"),
  re: v.optional(id),
  code: v.string(),
  message: v.string(),
});

export const ServerMessageSchema = v.variant("type", [
  WelcomeSchema,
  JoinedSchema,
  LeftSchema,
  AckSchema,
  PongSchema,
  MemberJoinedSchema,
  MemberLeftSchema,
  MemberUpdatedSchema,
  RemovedSchema,
  SignalSchema,
  BroadcastSchema,
  IceServersSchema,
  ByeSchema,
  ErrorSchema,
]);

export type Hello = v.InferOutput<typeof HelloSchema>;
export type Join = v.InferOutput<typeof JoinSchema>;
export type Leave = v.InferOutput<typeof LeaveSchema>;
export type SendSignal = v.InferOutput<typeof SendSignalSchema>;
export type SendBroadcast = v.InferOutput<typeof SendBroadcastSchema>;
export type ClientMessage = v.InferOutput<typeof ClientMessageSchema>;
export type ServerMessage = v.InferOutput<typeof ServerMessageSchema>;
export type Welcome = v.InferOutput<typeof WelcomeSchema>;
export type Joined = v.InferOutput<typeof JoinedSchema>;
export type Member = v.InferOutput<typeof member>;
export type IceServer = v.InferOutput<typeof iceServer>;
export type SignalMessage = v.InferOutput<typeof SignalSchema>;
export type BroadcastMessage = v.InferOutput<typeof BroadcastSchema>;
export type MemberJoined = v.InferOutput<typeof MemberJoinedSchema>;
export type MemberLeft = v.InferOutput<typeof MemberLeftSchema>;
export type MemberUpdated = v.InferOutput<typeof MemberUpdatedSchema>;
export type ErrorMessage = v.InferOutput<typeof ErrorSchema>;
export type SignalKind = v.InferOutput<typeof SignalKind>;
/** Server messages that carry `seq`: the ones a session's outbox keeps for resume. */
export type Removed = v.InferOutput<typeof RemovedSchema>;
export type SequencedMessage = SignalMessage | BroadcastMessage | MemberJoined | MemberLeft | MemberUpdated | Removed;

/** One line naming the first problem valibot found, with its path: what the `message` of a BAD_MESSAGE error says. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  const first = issues[0];
  if (!first) return "invalid message";
  const path = v.getDotPath(first);
  return path ? `${path}: ${first.message}` : first.message;
}
