import { type RTCIceServer, RTCPeerConnection } from "@parley/werift";
import { afterEach, describe, expect, it } from "vitest";
import { icePlans, rankPlans } from "../src/ice-servers.js";
import { type IceServer, PeerError, toWeriftIceServers } from "../src/index.js";

describe("toWeriftIceServers", () => {
  it("keeps an empty list empty, so werift never falls back to a public STUN server", async () => {
    expect(toWeriftIceServers([])).toEqual([]);
    const pc = new RTCPeerConnection({ iceServers: toWeriftIceServers([]) });
    expect(pc.config.iceServers).toEqual([]);
    // The ICE agent itself: unpatched werift 0.25.2 put stun.l.google.com here whatever the configuration said.
    pc.createDataChannel("x");
    await pc.setLocalDescription(await pc.createOffer());
    const agent = (pc.iceTransports[0] as unknown as { connection: { stunServer?: unknown } }).connection;
    expect(agent.stunServer).toBeUndefined();
    await pc.close();
  });

  it("splits multi-URL entries and keeps TURN credentials", () => {
    const servers: IceServer[] = [
      { urls: ["stun:127.0.0.1:3478", "turn:127.0.0.1:3478?transport=udp"], username: "u", credential: "p" },
      { urls: "turns:turn.example.org:5349?transport=tcp", username: "u", credential: "p" },
    ];
    expect(toWeriftIceServers(servers)).toEqual([
      { urls: "stun:127.0.0.1:3478" },
      { urls: "turn:127.0.0.1:3478?transport=udp", username: "u", credential: "p" },
      { urls: "turns:turn.example.org:5349?transport=tcp", username: "u", credential: "p" },
    ]);
  });

  it("makes one plan per TURN URL and puts those that answered the preflight first, keeping the rest", () => {
    const creds = { username: "u", credential: "p" };
    const plans = icePlans([
      {
        urls: ["stun:127.0.0.1:3478", "turn:10.0.0.1:3478?transport=udp", "turn:10.0.0.2:3478?transport=tcp"],
        ...creds,
      },
      { urls: "turn:10.0.0.3:3478?transport=udp", ...creds },
    ]);
    const turnOf = (p: RTCIceServer[][]) => p.map((plan) => String(plan[1]!.urls));
    expect(turnOf(plans)).toEqual([
      "turn:10.0.0.1:3478?transport=udp",
      "turn:10.0.0.2:3478?transport=tcp",
      "turn:10.0.0.3:3478?transport=udp",
    ]);
    expect(plans.every((plan) => plan[0]!.urls === "stun:127.0.0.1:3478")).toBe(true);
    const ranked = rankPlans(plans, new Set(["turn:10.0.0.3:3478?transport=udp", "turn:10.0.0.2:3478?transport=tcp"]));
    expect(turnOf(ranked)).toEqual([
      "turn:10.0.0.2:3478?transport=tcp",
      "turn:10.0.0.3:3478?transport=udp",
      "turn:10.0.0.1:3478?transport=udp",
    ]);
    expect(rankPlans(plans, undefined)).toBe(plans); // no preflight (one TURN URL, or turned off): as configured
  });

  const bad: Array<[string, IceServer, RegExp]> = [
    ["an http URL", { urls: "http://example.org" }, /not a stun:, stuns:, turn: or turns: URL/],
    ["a port out of range", { urls: "stun:127.0.0.1:70000" }, /port 70000, expected 1-65535/],
    ["TURN without credentials", { urls: "turn:127.0.0.1" }, /has no username and credential/],
  ];
  for (const [name, server, message] of bad) {
    it(`refuses ${name} with INVALID_ICE_SERVER`, () => {
      expect(() => toWeriftIceServers([server])).toThrow(PeerError);
      expect(() => toWeriftIceServers([server])).toThrow(message);
    });
  }
});

// Two werift peers in this process, host candidates on 127.0.0.1 only (tests never leave loopback).
const open: RTCPeerConnection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((pc) => pc.close()));
});

function loopbackPeer(): RTCPeerConnection {
  const pc = new RTCPeerConnection({
    iceServers: toWeriftIceServers([]),
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceFilterCandidatePair: (pair) => pair.remoteCandidate.host === "127.0.0.1",
  });
  open.push(pc);
  return pc;
}

async function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === "complete") return;
  await new Promise<void>((resolve) => {
    const sub = pc.iceGatheringStateChange.subscribe((state) => {
      if (state === "complete") {
        sub.unSubscribe();
        resolve();
      }
    });
  });
}

describe(`werift data channel over loopback (Node ${process.versions.node})`, () => {
  it("opens a channel and carries text and binary both ways", async () => {
    const a = loopbackPeer();
    const b = loopbackPeer();
    const channelA = a.createDataChannel("chat");
    const channelB = new Promise<import("@parley/werift").RTCDataChannel>((resolve) =>
      b.onDataChannel.subscribe(resolve),
    );

    await a.setLocalDescription(await a.createOffer());
    await gathered(a);
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription(await b.createAnswer());
    await gathered(b);
    await a.setRemoteDescription(b.localDescription!);

    const remote = await channelB;
    expect(remote.label).toBe("chat");
    if (channelA.readyState !== "open")
      await new Promise((r) => channelA.stateChanged.subscribe((s) => s === "open" && r(s)));

    const atB = new Promise<string | Buffer>((resolve) => remote.onMessage.subscribe(resolve));
    channelA.send("hello from a");
    expect(await atB).toBe("hello from a");

    const atA = new Promise<string | Buffer>((resolve) => channelA.onMessage.subscribe(resolve));
    remote.send(Buffer.from([0, 1, 2, 255]));
    expect(Buffer.from((await atA) as Buffer)).toEqual(Buffer.from([0, 1, 2, 255]));

    const pair = a.iceTransports[0]?.connection.nominated;
    expect(pair?.remoteCandidate.host).toBe("127.0.0.1");
  });
});
