import * as v from "valibot";

/** The protocol version this build speaks. A hello with another major version is refused (PROTOCOL.md). */
export const PROTOCOL_VERSION = 1;

const id = v.pipe(v.string(), v.minLength(1), v.maxLength(64));

// Client → server.
export const HelloSchema = v.strictObject({
  type: v.literal("hello"),
  id,
  version: v.pipe(v.number(), v.integer(), v.minValue(0)),
  token: v.optional(v.pipe(v.string(), v.maxLength(4096))),
});

export const ClientMessageSchema = v.variant("type", [HelloSchema]);

// Server → client.
export const WelcomeSchema = v.object({
  type: v.literal("welcome"),
  re: id,
  version: v.number(),
  sessionId: id,
  limits: v.object({ maxMessageBytes: v.number() }),
});

export const ErrorSchema = v.object({
  type: v.literal("error"),
  re: v.optional(id),
  code: v.string(),
  message: v.string(),
});

export const ServerMessageSchema = v.variant("type", [WelcomeSchema, ErrorSchema]);

export type Hello = v.InferOutput<typeof HelloSchema>;
export type ClientMessage = v.InferOutput<typeof ClientMessageSchema>;
export type Welcome = v.InferOutput<typeof WelcomeSchema>;
export type ErrorMessage = v.InferOutput<typeof ErrorSchema>;
export type ServerMessage = v.InferOutput<typeof ServerMessageSchema>;

/** One line naming the first problem valibot found, with its path: what the `message` of a BAD_MESSAGE error says. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  const first = issues[0];
  if (!first) return "invalid message";
  const path = v.getDotPath(first);
  return path ? `${path}: ${first.message}` : first.message;
}
