// Random and mutated datagrams and stream bytes thrown at a live server: it must keep serving, never crash, and
// never keep state for traffic that did not authenticate.
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AttributeType,
  createTurnServer,
  MessageBuilder,
  StunClass,
  StunMethod,
  TurnClient,
  type TurnServer,
} from "../src/index.js";

let server: TurnServer;
let port: number;

beforeAll(async () => {
  server = await createTurnServer({
    listeningIps: ["127.0.0.1"],
    listeningPort: 0,
    users: ["alice:secret"],
    authFailureRate: 0, // fuzzing sends wrong credentials by the thousand; the budget is tested on its own
  }).listen();
  port = server.addresses[0]!.port;
});
afterAll(() => server.close());

const methods = [
  StunMethod.Binding,
  StunMethod.Allocate,
  StunMethod.Refresh,
  StunMethod.CreatePermission,
  StunMethod.ChannelBind,
  StunMethod.Send,
  StunMethod.Connect,
];
const attributeTypes = [...Object.values(AttributeType), 0x7fff, 0x0000, 0xffff];

const stunMessage = fc
  .record({
    method: fc.constantFrom(...methods),
    cls: fc.constantFrom(StunClass.Request, StunClass.Indication, StunClass.SuccessResponse, StunClass.ErrorResponse),
    attributes: fc.array(fc.tuple(fc.constantFrom(...attributeTypes), fc.uint8Array({ maxLength: 40 })), {
      maxLength: 8,
    }),
    sealed: fc.boolean(),
  })
  .map(({ method, cls, attributes, sealed }) => {
    const b = new MessageBuilder(method, cls, randomBytes(12));
    for (const [type, value] of attributes) {
      if (type !== AttributeType.MessageIntegrity && type !== AttributeType.Fingerprint)
        b.add(type, Buffer.from(value));
    }
    return b.build({ integrityKey: sealed ? randomBytes(16) : undefined, fingerprint: sealed });
  });

const mutated = fc
  .tuple(stunMessage, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }), fc.nat())
  .map(([msg, flips, cut]) => {
    const out = Buffer.from(msg);
    for (const [at, x] of flips) out[at % out.length] = out[at % out.length]! ^ x;
    return cut % 5 === 0 ? out.subarray(0, cut % out.length) : out;
  });

async function stillServes(): Promise<void> {
  const c = await TurnClient.connect({ host: "127.0.0.1", port, username: "alice", password: "secret" });
  try {
    await c.allocate();
    await c.refresh(0);
  } finally {
    c.close();
  }
}

describe("the server under random and mutated input", () => {
  it("survives random STUN-shaped and mutated datagrams and still allocates for a real client", async () => {
    const socket = createSocket("udp4");
    await new Promise<void>((r) => socket.bind(0, "127.0.0.1", () => r()));
    const samples = fc.sample(
      fc.oneof(
        stunMessage,
        mutated,
        fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      ),
      3000,
    );
    for (const [i, packet] of samples.entries()) {
      socket.send(packet, port, "127.0.0.1");
      if (i % 200 === 0) await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 300));
    socket.close();
    expect(server.allocationCount).toBe(0);
    expect(server.counters.packetsIn).toBeGreaterThan(0);
    await stillServes();
  });

  it("survives random byte streams over TCP, closing connections that are not TURN", async () => {
    const samples = fc.sample(
      fc.oneof(
        mutated,
        fc.uint8Array({ minLength: 1, maxLength: 2000 }).map((b) => Buffer.from(b)),
      ),
      200,
    );
    await Promise.all(
      samples.map(
        (bytes) =>
          new Promise<void>((resolve) => {
            const s = connect({ host: "127.0.0.1", port }, () => {
              s.end(bytes);
            });
            s.on("error", () => resolve());
            s.on("close", () => resolve());
            s.resume();
            setTimeout(() => {
              s.destroy();
              resolve();
            }, 1000);
          }),
      ),
    );
    expect(server.allocationCount).toBe(0);
    await stillServes();
  });

  it("closes a TCP connection whose bytes start neither a STUN message nor ChannelData", async () => {
    const closedOnGarbage = await new Promise<boolean>((resolve) => {
      const s = connect({ host: "127.0.0.1", port }, () => s.write(Buffer.from([0xc0, 0x00, 0x00, 0x00])));
      s.on("close", () => resolve(true));
      s.on("error", () => {});
      setTimeout(() => resolve(false), 2000);
    });
    expect(closedOnGarbage).toBe(true);
  });
});
