import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AttributeType,
  decodeMessage,
  fingerprintMatches,
  integrityMatches,
  MessageBuilder,
  StunClass,
  StunMethod,
  TurnError,
} from "../src/index.js";

const tid = Buffer.alloc(12, 7);
const valid = () =>
  new MessageBuilder(StunMethod.Binding, StunClass.Request, tid)
    .add(AttributeType.Software, Buffer.from("abc"))
    .build({ fingerprint: true });

describe("decodeMessage refuses malformed input with a precise error", () => {
  const rows: Array<[string, () => Buffer, string, RegExp]> = [
    ["an empty datagram", () => Buffer.alloc(0), "STUN_TRUNCATED", /0 bytes is shorter than the 20-byte header/],
    ["a 19-byte datagram", () => valid().subarray(0, 19), "STUN_TRUNCATED", /19 bytes/],
    [
      "a wrong magic cookie",
      () => {
        const b = valid();
        b.writeUInt32BE(0xdeadbeef, 4);
        return b;
      },
      "STUN_NOT_STUN",
      /magic cookie is 0xdeadbeef/,
    ],
    [
      "the top two bits set (ChannelData or RTP)",
      () => {
        const b = valid();
        b[0] = 0x40;
        return b;
      },
      "STUN_NOT_STUN",
      /first two bits/,
    ],
    [
      "a length that is not a multiple of 4",
      () => {
        const b = valid();
        b.writeUInt16BE(b.readUInt16BE(2) - 1, 2);
        return b;
      },
      "STUN_BAD_LENGTH",
      /not a multiple of 4/,
    ],
    ["a truncated body", () => valid().subarray(0, valid().length - 4), "STUN_BAD_LENGTH", /arrived/],
    [
      "an attribute longer than the message",
      () => {
        const b = valid();
        b.writeUInt16BE(200, 22);
        return b;
      },
      "STUN_BAD_ATTRIBUTE",
      /claims 200 bytes/,
    ],
  ];
  for (const [name, make, code, message] of rows) {
    it(`rejects ${name} with ${code}`, () => {
      const err = (() => {
        try {
          decodeMessage(make());
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(TurnError);
      expect((err as TurnError).code).toBe(code);
      expect((err as TurnError).message).toMatch(message);
    });
  }

  it("caps the number of attributes it indexes", () => {
    const builder = new MessageBuilder(StunMethod.Binding, StunClass.Request, tid);
    for (let i = 0; i < 100; i++) builder.add(0x8050, Buffer.alloc(0));
    expect(() => decodeMessage(builder.build())).toThrow(/more than 64 attributes/);
  });

  it("ignores attributes after FINGERPRINT and after MESSAGE-INTEGRITY, as RFC 8489 §14 requires", () => {
    const sealed = new MessageBuilder(StunMethod.Binding, StunClass.Request, tid)
      .add(AttributeType.Software, Buffer.from("x"))
      .build({ integrityKey: Buffer.from("k"), fingerprint: true });
    const extra = Buffer.concat([sealed, Buffer.from([0x00, 0x06, 0x00, 0x04, 0x65, 0x76, 0x69, 0x6c])]);
    extra.writeUInt16BE(extra.length - 20, 2);
    const msg = decodeMessage(extra);
    expect(msg.get(AttributeType.Username)).toBeUndefined();
  });
});

describe("decodeMessage under random and mutated input (fast-check)", () => {
  it("either decodes or throws a TurnError, for any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        try {
          decodeMessage(Buffer.from(bytes));
        } catch (err) {
          expect(err).toBeInstanceOf(TurnError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("either decodes or throws a TurnError for byte mutations, and never verifies a change to protected bytes", () => {
    const key = Buffer.from("secret");
    const base = new MessageBuilder(StunMethod.Binding, StunClass.Request, tid)
      .add(AttributeType.Username, Buffer.from("alice"))
      .add(AttributeType.Software, Buffer.from("parley test"))
      .build({ integrityKey: key, fingerprint: true });
    // Everything up to the end of MESSAGE-INTEGRITY is protected; a flip in FINGERPRINT's own header merely turns it
    // into an unknown attribute after MESSAGE-INTEGRITY, which RFC 8489 §14.5 says to ignore.
    const protectedEnd = decodeMessage(base).integrityOffset + 24;
    fc.assert(
      fc.property(fc.nat(protectedEnd - 1), fc.integer({ min: 1, max: 255 }), (index, flip) => {
        const mutated = Buffer.from(base);
        mutated[index] = mutated[index]! ^ flip;
        let msg: ReturnType<typeof decodeMessage>;
        try {
          msg = decodeMessage(mutated);
        } catch (err) {
          expect(err).toBeInstanceOf(TurnError);
          return;
        }
        // A mutation that still decodes must be caught by FINGERPRINT or MESSAGE-INTEGRITY.
        const accepted = fingerprintMatches(msg) && integrityMatches(msg, key);
        expect(accepted).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });
});
