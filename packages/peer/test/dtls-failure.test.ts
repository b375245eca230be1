// A connection whose DTLS handshake fails cannot be repaired by an ICE restart (the DTLS association outlives ICE
// restarts, and werift answers each one with "failed" again). The bot must say so once, with that reason, and replace
// the connection with a new one (PROTOCOL.md, "Peer conventions": `restart` with `{ renew: N }`). The far end here is
// a plain SignalClient with its own werift connection, written from PROTOCOL.md: its first offer names a certificate
// fingerprint it does not have (the bot's check of the far end's certificate fails); it follows a renewal as the
// document says, or (second test) does not know renewals at all.
import type { SignalMessage } from "@parley/signal";
import { RTCPeerConnection, type RTCSessionDescriptionInit } from "@parley/werift";
import { expect, it } from "vitest";
import type { PeerError } from "../src/index.js";
import { LOOPBACK, loopbackPeer, plainMember, signalServer, until } from "./helpers/room-fixture.js";

/** The offer's certificate fingerprint with every hex pair changed: a certificate this end does not have. */
function wrongFingerprint(sdp: string): string {
  const changed = sdp.replace(/^(a=fingerprint:\S+ )(\S+)/m, (_l, head: string, hex: string) => {
    return head + hex.replace(/[0-9A-F]{2}/g, (pair) => (pair === "00" ? "01" : "00"));
  });
  expect(changed).not.toBe(sdp);
  return changed;
}

const renewals = (got: SignalMessage[]) => got.filter((m) => m.kind === "restart").map((m) => m.payload);

/** A bot and a far end; the far end's first offer names a wrong certificate unless `validOffer`. */
async function botWithFailingMember(followsRenewals: boolean, validOffer = false) {
  const url = await signalServer();
  const bot = await loopbackPeer(url, { restartAfterMs: 100, connectTimeoutMs: 1000 });
  const room = await bot.join("r", { receive: { audio: false, video: false } });
  void room.openChannel("chat");
  const errors: PeerError[] = [];
  room.on("error", (err) => errors.push(err));
  let renewedEvents = 0;
  room.on("member-renewed", () => renewedEvents++);
  const heard: string[] = [];
  room.on("message", (_m, _c, data) => heard.push(String(data)));

  const far = await plainMember(url, "r");
  const { client } = far;
  // The far end's current connection; replaced when it follows a renewal.
  let pc = far.pc;
  const farHeard: string[] = [];
  const farErrors: string[] = [];
  const drive = (conn: RTCPeerConnection) => {
    conn.onicecandidate = ({ candidate }) => {
      // (Rejected once the test has closed the client: nothing to deliver to then.)
      if (conn === pc && candidate) client.signal("r", bot.id, "candidate", candidate.toJSON()).catch(() => {});
    };
    conn.ondatachannel = ({ channel }) => {
      channel.onMessage.subscribe((data) => {
        farHeard.push(String(data));
        channel.send(`echo ${data}`);
      });
    };
  };
  drive(pc);
  // One signal at a time, in order, as PROTOCOL.md's peers handle them.
  let queue = Promise.resolve();
  client.on("signal", (message) => {
    queue = queue.then(() => onSignal(message)).catch((err: Error) => farErrors.push(err.message));
  });
  const onSignal = async (message: SignalMessage) => {
    const renew = (message.payload as { renew?: number } | null)?.renew;
    if (message.kind === "restart" && renew !== undefined && followsRenewals) {
      // PROTOCOL.md: close the old connection, confirm before anything of the new one, answer its offer.
      await pc.close();
      await client.signal("r", bot.id, "restart", { renewed: renew });
      pc = new RTCPeerConnection(LOOPBACK);
      drive(pc);
    } else if (message.kind === "offer") {
      await pc.setRemoteDescription(message.payload as RTCSessionDescriptionInit);
      await pc.setLocalDescription(await pc.createAnswer());
      await client.signal("r", bot.id, "answer", pc.localDescription!);
    } else if (message.kind === "answer") {
      await pc.setRemoteDescription(message.payload as RTCSessionDescriptionInit);
    } else if (message.kind === "candidate") {
      await pc.addIceCandidate(message.payload as never).catch(() => {});
    }
  };
  pc.createDataChannel("x");
  await pc.setLocalDescription(await pc.createOffer());
  const sdp = pc.localDescription!.sdp;
  await client.signal("r", bot.id, "offer", { type: "offer", sdp: validOffer ? sdp : wrongFingerprint(sdp) });
  return { bot, room, errors, heard, farHeard, farErrors, got: far.got, renewedEvents: () => renewedEvents };
}

it("a failed DTLS handshake is reported once as CONNECTION_FAILED and repaired with a new connection, not ICE restarts", async () => {
  const { bot, room, errors, heard, farHeard, farErrors, got, renewedEvents } = await botWithFailingMember(true);

  await until(() => errors.length > 0, 15_000, "an error");
  expect(errors[0]!.code).toBe("CONNECTION_FAILED");
  expect(errors[0]!.message).toMatch(/DTLS handshake failed.*new connection/);
  const member = [...room.members.values()][0]!;
  await until(() => member.connectionState === "connected", 15_000, "the new connection");
  // One renewal, no ICE restart of the failed connection (a restart with a plan, or asking for one).
  expect(renewals(got)).toEqual([{ renew: 1 }]);
  expect(renewedEvents()).toBe(1);

  // The room's channel was opened again on the new connection, and carries data both ways.
  await until(() => member.channel("chat")?.readyState === "open", 15_000, "chat on the new connection");
  await room.send("chat", "after renewal");
  await until(() => heard.includes("echo after renewal"), 15_000, "the echo");
  expect(farHeard).toEqual(["after renewal"]);
  expect(bot.id).toBe(room.selfId);
  // Settled: no further renewal or report.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  expect(renewals(got)).toEqual([{ renew: 1 }]);
  expect(errors.map((e) => `${e.code}: ${e.message}`)).toEqual([expect.stringMatching(/^CONNECTION_FAILED: /)]);
  expect(farErrors).toEqual([]);
});

it("a far end that never confirms a renewal gets it again on the slow schedule, not in a loop", async () => {
  const { errors, farErrors, got } = await botWithFailingMember(false);
  await until(() => renewals(got).length > 0, 15_000, "a renewal");
  // connectTimeoutMs (1 s) later the unconfirmed renewal counts as failed; the next comes 5 s after that.
  await new Promise((resolve) => setTimeout(resolve, 4000));
  expect(renewals(got)).toEqual([{ renew: 1 }]);
  await until(() => renewals(got).length > 1, 8_000, "the second renewal");
  expect(renewals(got)).toEqual([{ renew: 1 }, { renew: 2 }]);
  // Reported once for the outage, not once per renewal.
  expect(errors.map((e) => e.code)).toEqual(["CONNECTION_FAILED"]);
  expect(farErrors).toEqual([]);
});

it("a renewal the far end never confirms is reported as that, not as a failed DTLS handshake", async () => {
  const { room, errors, got } = await botWithFailingMember(false, true);
  await until(() => room.members.size > 0, 15_000, "the member");
  const member = [...room.members.values()][0]!;
  await until(() => member.connectionState === "connected", 15_000, "the first connection");
  expect(errors).toEqual([]);
  member.renew();
  await until(() => errors.length > 0, 5_000, "an error");
  expect(errors.map((e) => `${e.code}: ${e.message}`)).toEqual([
    `CONNECTION_FAILED: connection to ${member.id} failed: it did not confirm our new connection within 1 s; ` +
      "starting a new connection",
  ]);
  // PROTOCOL.md: an unconfirmed renewal is repeated no sooner than 5 s later — asked for by the bot's code, too.
  await new Promise((resolve) => setTimeout(resolve, 4000));
  expect(renewals(got)).toEqual([{ renew: 1 }]);
  await until(() => renewals(got).length > 1, 4_000, "the second renewal");
  expect(renewals(got)).toEqual([{ renew: 1 }, { renew: 2 }]);
});
