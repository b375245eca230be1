// createSignalServer checks its options before anything starts: a bad value is a SignalError INVALID_OPTION naming
// the option and what came, for every program that embeds the server.
import { describe, expect, it } from "vitest";
import { createSignalServer, type SignalServerOptions } from "../src/index.js";

const rows: Array<[string, SignalServerOptions, RegExp]> = [
  ["a negative room capacity", { roomCapacity: -1 }, /roomCapacity must be an integer from 1 to 100000, got -1/],
  ["a zero rooms-per-connection", { roomsPerConnection: 0 }, /roomsPerConnection must be an integer from 1/],
  ["a tiny message size", { maxMessageBytes: 10 }, /maxMessageBytes must be an integer from 1024/],
  ["a fractional rate", { messagesPerSecond: 2.5 }, /messagesPerSecond must be an integer .* got 2.5/],
  ["a string resume window", { resumeWindowMs: "30s" as unknown as number }, /resumeWindowMs .* got "30s"/],
  ["a zero outbox", { outboxMessages: 0 }, /outboxMessages must be an integer from 1/],
  ["a 1 ms heartbeat", { heartbeatMs: 1 }, /heartbeatMs must be an integer from 100/],
  ["NaN for the hello timeout", { helloTimeoutMs: Number.NaN }, /helloTimeoutMs must be an integer .* got null/],
  ["an empty token secret", { tokenSecret: "" }, /tokenSecret must be a non-empty string/],
  ["origins that are not strings", { allowedOrigins: [42 as unknown as string] }, /allowedOrigins must be an array/],
  ["TURN without a secret", { turn: { secret: "", urls: ["turn:x"] } }, /turn.secret must be a non-empty string/],
  ["TURN with an http URL", { turn: { secret: "s", urls: ["http://x"] } }, /turn.urls must be turn:, turns: or stun:/],
  ["TURN with a zero lifetime", { turn: { secret: "s", urls: ["turn:x"], ttlSeconds: 0 } }, /turn.ttlSeconds .* got 0/],
  ["a Redis address without a scheme", { redis: "localhost:6379" }, /redis must be a redis:\/\/ or rediss:\/\/ URL/],
  ["an http URL for Redis", { redis: "http://redis:6379" }, /redis must be a redis:\/\/ or rediss:\/\/ URL/],
  ["a Redis prefix with a space", { redis: { url: "redis://r", prefix: "my app" } }, /redis.prefix must be 1 to 64/],
  ["Redis and a custom store at once", { redis: "redis://r", store: {} as never }, /store and redis cannot both/],
];

describe("createSignalServer options", () => {
  for (const [what, options, message] of rows) {
    it(`refuses ${what} with INVALID_OPTION`, () => {
      let error: unknown;
      try {
        createSignalServer(options);
      } catch (err) {
        error = err;
      }
      expect(error).toMatchObject({ name: "SignalError", code: "INVALID_OPTION" });
      expect((error as Error).message).toMatch(message);
    });
  }

  it("accepts the defaults and a full, valid set", async () => {
    const servers = [
      createSignalServer(),
      createSignalServer({
        roomCapacity: 3,
        roomsPerConnection: 2,
        maxMessageBytes: 4096,
        resumeWindowMs: 0,
        tokenSecret: "s",
        allowedOrigins: ["https://app.example"],
        turn: { secret: "t", urls: ["turn:127.0.0.1:3478?transport=udp"], ttlSeconds: 600 },
      }),
    ];
    for (const server of servers) await server.close();
  });
});
