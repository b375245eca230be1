// protocol.schema.json is what a client in another language gets instead of our TypeScript: it must be current
// (generated from the schemas the server runs) and it must describe what actually travels, both ways.
import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import { afterEach, describe, expect, it } from "vitest";
import { protocolJsonSchema } from "../scripts/protocol-schema.mjs";
import { createSignalServer, type SignalServer } from "../src/index.js";
import * as messages from "../src/protocol/messages.js";
import { greetedSocket, type RawSocket } from "./helpers/raw-socket.js";

const committed = JSON.parse(readFileSync(new URL("../protocol.schema.json", import.meta.url), "utf8"));
const ajv = new Ajv2020({ strict: true, allErrors: true });
ajv.addSchema(committed);
const validClient = ajv.getSchema(`${committed.$id}#/$defs/client`)!;
const validServer = ajv.getSchema(`${committed.$id}#/$defs/server`)!;

let server: SignalServer | undefined;
const sockets: RawSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.ws.terminate();
  await server?.close();
});

describe("protocol.schema.json", () => {
  it("is current: generated from the schemas the server runs (node packages/signal/scripts/protocol-schema.mjs)", () => {
    expect(committed).toEqual(JSON.parse(JSON.stringify(protocolJsonSchema(messages))));
  });

  it("describes every message of a real session, both ways", async () => {
    server = createSignalServer({ turn: { secret: "t", urls: ["turn:127.0.0.1:3478"] } });
    const url = `ws://127.0.0.1:${await server.listen(0)}`;
    const sent: unknown[] = [];
    const received: Record<string, unknown>[] = [];
    const open = async () => {
      const s = await greetedSocket(url);
      sockets.push(s);
      received.push(s.welcome);
      const send = s.send;
      s.send = (m: unknown) => {
        sent.push(m);
        send(m);
      };
      return s;
    };
    const alice = await open();
    const bob = await open();
    sent.push({ type: "hello", id: "h", version: 1 });
    const talk = async (s: RawSocket, m: Record<string, unknown>) => {
      s.send(m);
      received.push(await s.next());
    };
    await talk(alice, { type: "join", id: "1", room: "r", metadata: { name: "Alice" } });
    await talk(bob, { type: "join", id: "1", room: "r" });
    received.push(await alice.next()); // member-joined
    const aliceId = alice.welcome.sessionId as string;
    await talk(bob, { type: "signal", id: "2", room: "r", to: aliceId, kind: "offer", payload: { sdp: "v=0" } });
    received.push(await alice.next()); // signal
    await talk(bob, { type: "broadcast", id: "3", room: "r", payload: [1, "two"] });
    received.push(await alice.next()); // broadcast
    await talk(bob, { type: "join", id: "4", room: "r", metadata: { name: "Bob" } });
    received.push(await alice.next()); // member-updated
    await talk(alice, { type: "ping", id: "5" });
    alice.send({ type: "received", seq: 4 });
    await talk(alice, { type: "leave", id: "6", room: "nowhere" }); // error NOT_IN_ROOM
    await talk(bob, { type: "leave", id: "7", room: "r" });
    received.push(await alice.next()); // member-left
    const types = new Set(received.map((m) => m.type));
    expect([...types].sort()).toEqual(
      [
        "ack",
        "broadcast",
        "error",
        "joined",
        "left",
        "member-joined",
        "member-left",
        "member-updated",
        "pong",
        "signal",
        "welcome",
      ].sort(),
    );
    for (const m of received)
      expect(validServer(m), `${JSON.stringify(m)}: ${ajv.errorsText(validServer.errors)}`).toBe(true);
    for (const m of sent)
      expect(validClient(m), `${JSON.stringify(m)}: ${ajv.errorsText(validClient.errors)}`).toBe(true);
  });

  const refused: Array<[string, unknown]> = [
    ["metadata that is an array", { type: "join", id: "1", room: "r", metadata: [1] }],
    ["an unknown field", { type: "ping", id: "1", extra: true }],
    ["a room name with a space", { type: "join", id: "1", room: "a b" }],
    ["an unknown signal kind", { type: "signal", room: "r", to: "x", kind: "hello", payload: null }],
    ["a fractional seq", { type: "received", seq: 1.5 }],
  ];
  for (const [name, frame] of refused) {
    it(`rejects ${name}, as the server does (BAD_MESSAGE)`, async () => {
      expect(validClient(frame)).toBe(false);
      server = createSignalServer();
      const s = await greetedSocket(`ws://127.0.0.1:${await server.listen(0)}`);
      sockets.push(s);
      s.send(frame);
      expect(await s.next()).toMatchObject({ type: "error", code: "BAD_MESSAGE" });
    });
  }
});
