// Patch 15 takes a path that has received nothing for 2.5 s for "disconnected" (the peer then restarts ICE). Two
// things must not fool it: a stall of this very process (packets wait in the socket while the loop is blocked, and
// timers run before I/O, so the first tick after a stall saw seconds of "silence"), and media that comes back before
// the next connectivity check is answered (the path works again; the connection must say so).
import { MediaStreamTrack, type RTCPeerConnection, RtpHeader, RtpPacket } from "@parley/werift";
import { afterEach, describe, expect, it } from "vitest";
import { loopbackPeers } from "./loopback.js";

const newPeer = loopbackPeers();
const pumps: NodeJS.Timeout[] = [];
afterEach(() => {
  for (const pump of pumps.splice(0)) clearInterval(pump);
});

interface End {
  pc: RTCPeerConnection;
  states: string[];
  /** Called with the connection state at the moment each RTP packet is received. */
  onRtp: (listener: (stateThen: string) => void) => void;
}

/** Two connected peers, each sending an audio-like RTP packet every 20 ms to the other. */
async function sendingPair(): Promise<[End, End]> {
  const ends = [newPeer(), newPeer()] as const;
  const [a, b] = ends;
  a.onicecandidate = ({ candidate }) => candidate && void b.addIceCandidate(candidate);
  b.onicecandidate = ({ candidate }) => candidate && void a.addIceCandidate(candidate);
  const tracks = [new MediaStreamTrack({ kind: "audio" }), new MediaStreamTrack({ kind: "audio" })];
  a.addTransceiver(tracks[0]!, { direction: "sendrecv" });
  const listeners: Array<Array<(stateThen: string) => void>> = [[], []];
  ends.forEach((pc, i) => {
    pc.ontrack = ({ track }) => {
      track.onReceiveRtp.subscribe(() => {
        for (const listener of listeners[i]!) listener(pc.connectionState);
      });
    };
  });
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription!);
  const atB = b.getTransceivers()[0]!;
  await atB.sender.replaceTrack(tracks[1]!);
  atB.setDirection("sendrecv");
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription!);
  await Promise.all(
    ends.map(
      (pc) => new Promise<void>((resolve) => pc.connectionStateChange.subscribe((s) => s === "connected" && resolve())),
    ),
  );
  let seq = 0;
  pumps.push(
    setInterval(() => {
      seq = (seq + 1) & 0xffff;
      for (const track of tracks) {
        track.writeRtp(
          new RtpPacket(
            new RtpHeader({ payloadType: 111, sequenceNumber: seq, timestamp: seq * 960, marker: true }),
            Buffer.from([0xfc, 0xff, 0xfe]),
          ),
        );
      }
    }, 20),
  );
  return ends.map((pc, i) => {
    const states: string[] = [];
    pc.connectionStateChange.subscribe((s) => states.push(s));
    return { pc, states, onRtp: (listener: (stateThen: string) => void) => listeners[i]!.push(listener) };
  }) as [End, End];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The UDP transport of a connection's selected pair: what its packets leave through. */
// biome-ignore lint/suspicious/noExplicitAny: werift's ICE internals are not in its typings
const selectedTransport = (pc: RTCPeerConnection): { send: (...args: any[]) => Promise<void> } =>
  // biome-ignore lint/suspicious/noExplicitAny: as above
  (pc as any).iceTransports[0].connection.nominated.protocol.transport;

describe("the receiving watch (patch 15)", () => {
  it("a 3 s stall of the process itself is not a dead path: no 'disconnected'", async () => {
    const [a, b] = await sendingPair();
    const received = [0, 0];
    a.onRtp(() => received[0]!++);
    b.onRtp(() => received[1]!++);
    await expect.poll(() => Math.min(...received)).toBeGreaterThan(10);
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      // Blocking the event loop, as a CPU-bound task or a starved machine does.
    }
    const after = [...received];
    await sleep(1500);
    expect(received[0]).toBeGreaterThan(after[0]! + 20);
    expect(received[1]).toBeGreaterThan(after[1]! + 20);
    expect(a.states).not.toContain("disconnected");
    expect(b.states).not.toContain("disconnected");
  });

  it("goes 'disconnected' after 2.5 s of silence, and is 'connected' again as the first packet arrives", async () => {
    const [a, b] = await sendingPair();
    let received = 0;
    let stateAtFirstAfter: string | undefined;
    let restored = false;
    a.onRtp((stateThen) => {
      received++;
      if (restored && stateAtFirstAfter === undefined) stateAtFirstAfter = stateThen;
    });
    await expect.poll(() => received).toBeGreaterThan(10);
    // b's packets (media and answers to a's checks) are lost on the way: a hears nothing.
    const transport = selectedTransport(b.pc);
    const send = transport.send;
    transport.send = async () => {};
    const silentAt = Date.now();
    await expect.poll(() => a.pc.connectionState, { timeout: 5000, interval: 50 }).toBe("disconnected");
    const noticedMs = Date.now() - silentAt;
    expect(noticedMs).toBeGreaterThanOrEqual(2400);
    expect(noticedMs).toBeLessThan(4000);
    // The path comes back. a's next check is up to a second away; the media, 20 ms.
    transport.send = send;
    restored = true;
    await expect.poll(() => stateAtFirstAfter, { timeout: 3000 }).toBeDefined();
    expect(stateAtFirstAfter).toBe("connected");
    expect(a.states.slice(-2)).toEqual(["disconnected", "connected"]);
  });
});
