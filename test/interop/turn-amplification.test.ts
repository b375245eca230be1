// A TURN server answers 20-byte requests from anyone, so the size of what it sends back is how good an amplifier
// it makes for a spoofed source address. parley-turn's answers to header-only Allocate, Refresh, CreatePermission
// and ChannelBind requests are measured against coturn's turnserver, same realm, same run: never larger.
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCoturnServer, startParleyTurn } from "../helpers/parley-turn.js";
import { hasTool } from "../helpers/require-tool.js";

const METHODS: Array<[string, number]> = [
  ["Allocate", 0x003],
  ["Refresh", 0x004],
  ["CreatePermission", 0x008],
  ["ChannelBind", 0x009],
];

/** Sends a bare 20-byte request and resolves with the answer (class bits and length checked by the caller). */
async function answerTo(port: number, method: number): Promise<Buffer> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  const request = Buffer.alloc(20);
  request.writeUInt16BE(method, 0);
  request.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(request, 8);
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from port ${port}`)), 3000);
      socket.once("message", (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      socket.send(request, port, "127.0.0.1");
    });
  } finally {
    socket.close();
  }
}

describe.skipIf(!hasTool("coturn"))("answers to unauthenticated header-only requests, against coturn", () => {
  let coturn: number;
  let parley: number;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    coturn = await startCoturnServer(["-a", "-r", "north.gov", "--user=gorst:hero"]);
    const started = await startParleyTurn(["-r", "north.gov", "--user=gorst:hero", "--no-tls"]);
    parley = started.port;
    stop = () => started.program.stop();
  });
  afterAll(() => stop?.());

  for (const [name, method] of METHODS) {
    it(`${name}: a 401 no larger than coturn's`, async () => {
      const theirs = await answerTo(coturn, method);
      const ours = await answerTo(parley, method);
      expect(ours.readUInt16BE(0)).toBe(method | 0x0110); // error response of the same method
      expect(ours.readUInt8(20 + 4 + 2) & 0x7).toBe(4); // ERROR-CODE (the first attribute) class 4…
      expect(ours.readUInt8(20 + 4 + 3)).toBe(1); // …number 1: 401
      expect(ours.length).toBeLessThanOrEqual(theirs.length);
      expect(ours.length / 20).toBeLessThanOrEqual(5);
    });
  }
});
