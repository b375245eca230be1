// ICE restarts from every end at random moments, with the signalling link cut every few seconds: what the soak does
// every two minutes, compressed. Every connection must keep delivering both ways and end with ICE really running on
// both ends. Before werift patch 23 about one 60-second run in four left one end's ICE agent restarted and never
// started under a "connected" connection (one direction silent until the next restart), and every follower of a
// restart left its ICE transport "checking" for ever. The second run also renews a random connection every 2 s (a new
// connection in its place, as after a failed DTLS handshake): before werift patch 27, three runs in five had a new
// connection that an ICE restart caught during its DTLS handshake fail four restarts in a row (CONNECTION_FAILED), and
// before patch 28 about one run in five (both cores busy) had a pair silent both ways for good: a late copy of a
// ClientHello made werift's DTLS server start over with keys the client did not have. Before patches 29–31 about one
// run in twenty had a pair silent 5–10 s, and 4 of 10 60-second storms a pair silent 2.5 s or more: a new
// connection's COOKIE-ECHO lost to an ICE restart (werift sent nothing while a restart ran, and resent after 3 s), or
// both ends' SCTP waiting for the other's INIT (a restart had given both the same ICE role as SCTP started).
import { afterEach, expect, it } from "vitest";
import { startTcpProxy, type TcpProxy } from "../../signal/test/helpers/tcp-proxy.js";
import type { Room } from "../src/index.js";
import { loopbackPeer, signalServer, until } from "./helpers/room-fixture.js";

const PEERS = 4;
const STORM_MS = 20_000;
const RESTART_EVERY_MS = 1500;
/** Each end restarts each connection within this much of the others: crossing restarts, glare, and near misses. */
const JITTER_MS = 400;
const CUT_EVERY_MS = 3000;
const RENEW_EVERY_MS = 2000;
/** Longer than a restart takes on loopback (~50 ms) with room for a busy machine; no recovery timer is this short. */
const SILENT_MS = 5000;

let proxy: TcpProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

/** werift's SCTP association states, for the failure message. */
const ASSOCIATION: Record<number, string> = {
  0: "none",
  1: "closed",
  2: "cookie-wait",
  3: "cookie-echoed",
  4: "established",
};

/** What the far end of a silent or broken connection would want to see in the failure message. */
function stateOf(room: Room, memberId: string): string {
  const pc = room.members.get(memberId)!.pc;
  const ice = pc.dtlsTransports[0]?.iceTransport;
  const sctp = pc.sctpTransport?.sctp;
  return (
    `connection ${pc.connectionState}, ICE ${pc.iceConnectionState}, signalling ${pc.signalingState}, ` +
    `ICE transport ${ice?.state}, agent ${ice?.connection.state}; ` +
    `SCTP ${ASSOCIATION[sctp?.associationState ?? 0] ?? sctp?.associationState} as ${sctp?.isServer ? "server" : "client"}`
  );
}

for (const renewing of [false, true]) {
  const what = renewing ? "ICE restarts and renewals" : "ICE restarts";
  it(`${what} from every end at random moments, signalling cut every 3 s: every connection keeps delivering and ends with ICE running`, {
    timeout: STORM_MS + 60_000,
  }, async () => {
    const direct = new URL(await signalServer());
    proxy = await startTcpProxy(Number(direct.port));
    const url = `ws://127.0.0.1:${proxy.port}`;
    const rooms: Room[] = [];
    const errors: string[] = [];
    for (let i = 0; i < PEERS; i++) {
      const peer = await loopbackPeer(url, { signal: { reconnect: { initialDelayMs: 100, maxDelayMs: 1000 } } });
      const room = await peer.join("r", { receive: { audio: false, video: false } });
      room.on("error", (err) => errors.push(err.message));
      await room.openChannel("chat");
      rooms.push(room);
    }
    const allOpen = () =>
      rooms.every(
        (room) =>
          room.members.size === PEERS - 1 &&
          [...room.members.values()].every((m) => m.channel("chat")?.readyState === "open"),
      );
    await until(allOpen, 20_000, "every chat channel open");

    const heard = new Map<string, number>(); // "receiver<sender" → when last heard
    const key = (room: Room, memberId: string) => `${room.selfId}<${memberId}`;
    for (const room of rooms) room.on("message", (member) => heard.set(key(room, member.id), Date.now()));
    const silences: string[] = [];
    const started = Date.now();
    const timers = [
      setInterval(() => {
        for (const room of rooms) room.send("chat", "x").catch(() => {});
      }, 50),
      setInterval(() => {
        for (const room of rooms) {
          for (const member of room.members.values()) setTimeout(() => member.restartIce(), Math.random() * JITTER_MS);
        }
      }, RESTART_EVERY_MS),
      setInterval(() => proxy!.cut(), CUT_EVERY_MS),
      setInterval(() => {
        if (!renewing) return;
        const room = rooms[Math.floor(Math.random() * rooms.length)]!;
        const members = [...room.members.values()];
        members[Math.floor(Math.random() * members.length)]?.renew();
      }, RENEW_EVERY_MS),
      setInterval(() => {
        const now = Date.now();
        for (const room of rooms) {
          for (const member of room.members.values()) {
            const last = heard.get(key(room, member.id)) ?? started;
            if (now - last < SILENT_MS) continue;
            silences.push(`${key(room, member.id)} silent ${now - last} ms: ${stateOf(room, member.id)}`);
            heard.set(key(room, member.id), now);
          }
        }
      }, 250),
    ];
    try {
      await new Promise((resolve) => setTimeout(resolve, STORM_MS));
      // The storm stops (the last restarts are still settling); then every end must be up, both ways.
      clearInterval(timers[1]);
      clearInterval(timers[2]);
      clearInterval(timers[3]);
      const settled = () =>
        rooms.every((room) =>
          [...room.members.values()].every((m) => {
            const ice = m.pc.dtlsTransports[0]?.iceTransport;
            return (
              m.connectionState === "connected" && ice?.state === "connected" && ice.connection.state === "connected"
            );
          }),
        );
      await until(settled, 10_000, "every connection connected with its ICE running").catch(() => {});
      const ends = rooms.flatMap((room) =>
        [...room.members.keys()].map((id) => `${key(room, id)}: ${stateOf(room, id)}`),
      );
      expect(
        ends.filter(
          (end) => !/^\S+: connection connected, ICE connected, .*transport connected, agent connected;/.test(end),
        ),
      ).toEqual([]);
      const lastRound = Date.now();
      await until(
        () => rooms.every((room) => [...room.members.keys()].every((id) => heard.get(key(room, id))! > lastRound)),
        5000,
        "a message on every connection, both ways",
      );
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
    // Together, so a failure shows both (a silence with the error that explains it).
    expect({ silences, errors }).toEqual({ silences: [], errors: [] });
  });
}
