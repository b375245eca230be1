// RFC 5769 test vectors, one row per vector, each asserting what the RFC states about it.
import { describe, expect, it } from "vitest";
import {
  AttributeType,
  decodeMessage,
  decodeXorAddress,
  fingerprintMatches,
  integrityMatches,
  longTermKey,
  MessageBuilder,
  StunClass,
  StunMethod,
  shortTermKey,
} from "../src/index.js";

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ""), "hex");
const transactionId = hex("b7 e7 a7 01 bc 34 d6 86 fa 87 df ae");
const shortTermPassword = "VOkJxbRl1RmTxUk/WvJxBt";

interface Vector {
  name: string;
  bytes: Buffer;
  key: Buffer;
  method: number;
  cls: number;
  hasFingerprint: boolean;
  check: (msg: ReturnType<typeof decodeMessage>) => void;
}

const vectors: Vector[] = [
  {
    name: "§2.1 sample request (short-term credentials, ICE attributes)",
    bytes: hex(`00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae 80 22 00 10 53 54 55 4e 20 74 65 73
      74 20 63 6c 69 65 6e 74 00 24 00 04 6e 00 01 ff 80 29 00 08 93 2f f9 b1 51 26 3b 36 00 06 00 09
      65 76 74 6a 3a 68 36 76 59 20 20 20 00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49
      c1 b5 71 a2 80 28 00 04 e5 7a 3b cf`),
    key: shortTermKey(shortTermPassword),
    method: StunMethod.Binding,
    cls: StunClass.Request,
    hasFingerprint: true,
    check: (msg) => {
      expect(msg.get(AttributeType.Software)?.toString()).toBe("STUN test client");
      expect(msg.get(AttributeType.Username)?.toString()).toBe("evtj:h6vY");
      expect(msg.get(AttributeType.Priority)?.readUInt32BE(0)).toBe(0x6e0001ff);
      expect(msg.get(AttributeType.IceControlled)?.toString("hex")).toBe("932ff9b151263b36");
    },
  },
  {
    name: "§2.2 sample IPv4 response (XOR-MAPPED-ADDRESS 192.0.2.1:32853)",
    bytes: hex(`01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae 80 22 00 0b 74 65 73 74 20 76 65 63
      74 6f 72 20 00 20 00 08 00 01 a1 47 e1 12 a6 43 00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9
      2a f9 ba 53 f0 6b e7 d7 80 28 00 04 c0 7d 4c 96`),
    key: shortTermKey(shortTermPassword),
    method: StunMethod.Binding,
    cls: StunClass.SuccessResponse,
    hasFingerprint: true,
    check: (msg) => {
      expect(msg.get(AttributeType.Software)?.toString()).toBe("test vector");
      const mapped = decodeXorAddress(msg.get(AttributeType.XorMappedAddress)!, msg.transactionId);
      expect(mapped).toEqual({ family: 4, address: "192.0.2.1", port: 32853 });
    },
  },
  {
    name: "§2.3 sample IPv6 response (XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853)",
    bytes: hex(`01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae 80 22 00 0b 74 65 73 74 20 76 65 63
      74 6f 72 20 00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9 00 08 00 14
      a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41 80 28 00 04 c8 fb 0b 4c`),
    key: shortTermKey(shortTermPassword),
    method: StunMethod.Binding,
    cls: StunClass.SuccessResponse,
    hasFingerprint: true,
    check: (msg) => {
      const mapped = decodeXorAddress(msg.get(AttributeType.XorMappedAddress)!, msg.transactionId);
      expect(mapped).toEqual({ family: 6, address: "2001:db8:1234:5678:11:2233:4455:6677", port: 32853 });
    },
  },
  {
    // The password "The<U+00AD>M<U+00AA>tr<U+2168>" becomes "TheMatrIX" under SASLprep; the key is MD5 of
    // "<U+30DE><U+30C8><U+30EA><U+30C3><U+30AF><U+30B9>:example.org:TheMatrIX".
    name: "§2.4 sample request with long-term authentication (SASLprep'd password, no FINGERPRINT)",
    bytes: hex(`00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e 00 06 00 12 e3 83 9e e3 83 88 e3 83
      aa e3 83 83 e3 82 af e3 82 b9 00 00 00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34
      6f 4c 39 46 53 54 76 79 36 34 73 41 00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00 00 08 00 14
      f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66`),
    key: longTermKey("\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9", "example.org", "The\u00ADM\u00AAtr\u2168"),
    method: StunMethod.Binding,
    cls: StunClass.Request,
    hasFingerprint: false,
    check: (msg) => {
      expect(msg.get(AttributeType.Username)?.toString()).toBe("\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9");
      expect(msg.get(AttributeType.Nonce)?.toString()).toBe("f//499k954d6OL34oL9FSTvy64sA");
      expect(msg.get(AttributeType.Realm)?.toString()).toBe("example.org");
    },
  },
];

describe("RFC 5769 test vectors", () => {
  for (const v of vectors) {
    describe(v.name, () => {
      it("decodes with the stated method, class and attributes", () => {
        const msg = decodeMessage(v.bytes);
        expect(msg.method).toBe(v.method);
        expect(msg.cls).toBe(v.cls);
        v.check(msg);
      });

      it("has a MESSAGE-INTEGRITY that verifies with the stated credentials and fails with others", () => {
        const msg = decodeMessage(v.bytes);
        expect(integrityMatches(msg, v.key)).toBe(true);
        expect(integrityMatches(msg, shortTermKey("wrong password"))).toBe(false);
      });

      it(v.hasFingerprint ? "has a FINGERPRINT that verifies" : "has no FINGERPRINT, which is accepted", () => {
        const msg = decodeMessage(v.bytes);
        expect(msg.fingerprintOffset !== -1).toBe(v.hasFingerprint);
        expect(fingerprintMatches(msg)).toBe(true);
      });

      it("fails integrity and fingerprint once any attribute byte is flipped", () => {
        const corrupted = Buffer.from(v.bytes);
        corrupted[24] = corrupted[24]! ^ 0x01;
        const msg = decodeMessage(corrupted);
        expect(integrityMatches(msg, v.key)).toBe(false);
        if (v.hasFingerprint) expect(fingerprintMatches(msg)).toBe(false);
      });

      it("re-encodes through MessageBuilder to a message with the same attributes that verifies", () => {
        const msg = decodeMessage(v.bytes);
        const builder = new MessageBuilder(msg.method, msg.cls as StunClass, msg.transactionId);
        const kept = msg.attributes.filter(
          (a) => a.type !== AttributeType.MessageIntegrity && a.type !== AttributeType.Fingerprint,
        );
        for (const a of kept) builder.add(a.type, msg.raw.subarray(a.offset, a.offset + a.length));
        const again = decodeMessage(builder.build({ integrityKey: v.key, fingerprint: v.hasFingerprint }));
        expect(again.attributes.map((a) => a.type)).toEqual(msg.attributes.map((a) => a.type));
        for (const a of kept) expect(again.get(a.type)).toEqual(msg.get(a.type));
        expect(integrityMatches(again, v.key)).toBe(true);
        expect(fingerprintMatches(again)).toBe(true);
      });
    });
  }

  it("uses the RFC's transaction id in the short-term vectors", () => {
    expect(decodeMessage(vectors[0]!.bytes).transactionId).toEqual(transactionId);
  });
});
