import { randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  AttributeType,
  createTurnServer,
  decodeErrorCode,
  decodeMessage,
  decodeXorAddress,
  fingerprintMatches,
  MessageBuilder,
  StunClass,
  StunMethod,
  type TurnServer,
} from "../src/index.js";

let server: TurnServer;
let client: Socket;
let port: number;

beforeEach(async () => {
  server = await createTurnServer({ listeningIps: ["127.0.0.1"], listeningPort: 0 }).listen();
  port = server.addresses[0]!.port;
  client = createSocket("udp4");
  await new Promise<void>((resolve) => client.bind(0, "127.0.0.1", resolve));
});

afterEach(async () => {
  client.close();
  await server.close();
});

/** Sends `packet` and waits for the answer, retransmitting as a STUN client does over UDP (RFC 8489 §6.2.1). */
function exchange(packet: Buffer, attempts = 5, rtoMs = 200): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (data: Buffer | undefined) => {
      clearTimeout(timer);
      client.off("message", onMessage);
      resolve(data);
    };
    const onMessage = (data: Buffer) => {
      if (data.length >= 20 && data.subarray(8, 20).equals(packet.subarray(8, 20))) finish(data);
    };
    const send = () => {
      if (sent++ === attempts) return finish(undefined);
      client.send(packet, port, "127.0.0.1");
      timer = setTimeout(send, rtoMs);
    };
    client.on("message", onMessage);
    send();
  });
}

const request = (fingerprint = false, extra?: [number, Buffer]) => {
  const b = new MessageBuilder(StunMethod.Binding, StunClass.Request, randomBytes(12));
  if (extra) b.add(extra[0], extra[1]);
  return b.build({ fingerprint });
};

describe("STUN Binding over UDP", () => {
  it("answers with the client's own address in XOR-MAPPED-ADDRESS and the same transaction id", async () => {
    const req = request();
    const res = decodeMessage((await exchange(req))!);
    expect(res.cls).toBe(StunClass.SuccessResponse);
    expect(res.transactionId).toEqual(req.subarray(8, 20));
    const mapped = decodeXorAddress(res.get(AttributeType.XorMappedAddress)!, res.transactionId);
    expect(mapped).toEqual({ family: 4, address: "127.0.0.1", port: client.address().port });
    expect(server.counters.bindingRequests).toBe(1);
  });

  it("adds a valid FINGERPRINT when the request carried one", async () => {
    const res = decodeMessage((await exchange(request(true)))!);
    expect(res.fingerprintOffset).not.toBe(-1);
    expect(fingerprintMatches(res)).toBe(true);
  });

  it("answers an unknown comprehension-required attribute with 420 listing it", async () => {
    const res = decodeMessage((await exchange(request(false, [0x7777, Buffer.from("x")])))!);
    expect(res.cls).toBe(StunClass.ErrorResponse);
    expect(decodeErrorCode(res.get(AttributeType.ErrorCode)!).code).toBe(420);
    expect(res.get(AttributeType.UnknownAttributes)).toEqual(Buffer.from([0x77, 0x77]));
  });

  it("drops a request whose FINGERPRINT is wrong, and keeps serving", async () => {
    const bad = request(true);
    bad.writeUInt32BE((bad.readUInt32BE(bad.length - 4) ^ 1) >>> 0, bad.length - 4);
    expect(await exchange(bad, 2)).toBeUndefined();
    expect(server.counters.dropped).toBe(2);
    expect(decodeMessage((await exchange(request()))!).cls).toBe(StunClass.SuccessResponse);
  });

  it("survives a burst of garbage datagrams and still answers", async () => {
    for (let i = 0; i < 500; i++) client.send(randomBytes(1 + (i % 300)), port, "127.0.0.1");
    const res = await exchange(request());
    expect(res && decodeMessage(res).cls).toBe(StunClass.SuccessResponse);
  });

  it("can be closed twice", async () => {
    await server.close();
    await server.close();
  });
});
