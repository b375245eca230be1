import { describe, expect, it } from "vitest";
import type { Channel, RemoteMember } from "../src/index.js";
import { loopbackPeer, signalServer, until, waitFor } from "./helpers/room-fixture.js";

describe("two bots in a room", () => {
  it("connect, open a channel both ways, and exchange text and binary", async () => {
    const url = await signalServer();
    const alice = await loopbackPeer(url);
    const bob = await loopbackPeer(url);
    const aliceRoom = await alice.join("r", { receive: { audio: false, video: false } });
    const incoming = waitFor<[RemoteMember, Channel]>(
      (r) => aliceRoom.on("datachannel", (m, c) => r([m, c])),
      15_000,
      "datachannel",
    );
    const bobRoom = await bob.join("r", { receive: { audio: false, video: false } });
    const toAlice = bobRoom.members.get(alice.id)!;
    const channel = await toAlice.openChannel("chat");
    const [member, theirs] = await incoming;
    expect(member.id).toBe(bob.id);
    expect(theirs.label).toBe("chat");
    const gotText = waitFor<string>((r) => theirs.once("message", (d) => r(String(d))));
    await channel.send("hello alice");
    expect(await gotText).toBe("hello alice");
    await theirs.opened();
    const gotBinary = waitFor<Buffer>((r) => channel.once("message", (d) => r(d as Buffer)));
    await theirs.send(new Uint8Array([1, 2, 3, 250]));
    expect([...(await gotBinary)]).toEqual([1, 2, 3, 250]);
    expect(toAlice.polite).not.toBe(aliceRoom.members.get(bob.id)!.polite);
  });

  it("room-wide channels reach members who join later, and room.send reaches all of them", async () => {
    const url = await signalServer();
    const hub = await loopbackPeer(url);
    const hubRoom = await hub.join("r", { receive: { audio: false, video: false } });
    await hubRoom.openChannel("news");
    const got: string[] = [];
    const guests = [await loopbackPeer(url), await loopbackPeer(url)];
    const opened: Promise<Channel>[] = [];
    for (const guest of guests) {
      const room = await guest.join("r", { receive: { audio: false, video: false } });
      opened.push(
        waitFor<Channel>((r) =>
          room.on("datachannel", (m, c) => {
            if (m.id === hub.id && c.label === "news") r(c);
          }),
        ),
      );
      room.on("message", (_m, c, d) => c.label === "news" && got.push(`${guest.id}:${d}`));
    }
    await Promise.all((await Promise.all(opened)).map((c) => c.opened()));
    await until(() => [...hubRoom.members.values()].every((m) => m.channel("news")?.readyState === "open"));
    await hubRoom.send("news", "extra!");
    await until(() => got.length === 2);
    expect(got.sort()).toEqual(guests.map((g) => `${g.id}:extra!`).sort());
  });

  it("tells the room when a member leaves and closes that connection; the others carry on", async () => {
    const url = await signalServer();
    const [a, b, c] = [await loopbackPeer(url), await loopbackPeer(url), await loopbackPeer(url)];
    // Each opens the room's "ping" channel on joining, so every pair has something to connect for.
    const ra = await a.join("r", { receive: { audio: false, video: false } });
    await ra.openChannel("ping");
    const rb = await b.join("r", { receive: { audio: false, video: false } });
    await rb.openChannel("ping");
    const rc = await c.join("r", { receive: { audio: false, video: false } });
    await rc.openChannel("ping");
    const connected = (room: typeof ra, n: number) =>
      until(
        () => room.members.size === n && [...room.members.values()].every((m) => m.connectionState === "connected"),
      );
    await Promise.all([connected(ra, 2), connected(rb, 2), connected(rc, 2)]);
    const left = waitFor<RemoteMember>((r) => ra.once("member-left", r));
    const bToA = rb.members.get(a.id)!;
    await rb.leave();
    expect((await left).id).toBe(b.id);
    expect(bToA.connectionState).toBe("closed");
    const pong = waitFor<string>((r) => rc.on("message", (_m, _c, d) => r(String(d))));
    await ra.send("ping", "still here");
    expect(await pong).toBe("still here");
  });
});
