// Patch 15 takes a path for dead (ICE "disconnected"; the peer then restarts ICE) when a check sent after 750 ms of
// silence goes unanswered, or after 2.5 s of silence. Things that must not fool it: a stall of this very process
// (packets wait in the socket while the loop is blocked, and timers run before I/O, so the first tick after a stall
// saw seconds of "silence"), a path that is merely quiet, and media that comes back before the next check is
// answered (the path works again; the connection must say so). Patch 22: gathering finished is not ICE "completed".
import { MediaStreamTrack, type RTCPeerConnection, RtpHeader, RtpPacket } from "@parley/werift";
import { afterEach, describe, expect, it } from "vitest";
import { connected, loopbackPeers, offerAnswer } from "./loopback.js";

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
  await Promise.all(ends.map(connected));
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

  it("goes 'disconnected' when a check after the silence goes unanswered, 'connected' again at the first packet", async () => {
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
    // Not before a check sent after 750 ms of silence had its 500 ms to be answered; well before the 2.5 s backstop.
    expect(noticedMs).toBeGreaterThanOrEqual(1200);
    expect(noticedMs).toBeLessThan(2400);
    // The path comes back. a's next check is up to half a second away; the media, 20 ms.
    transport.send = send;
    restored = true;
    await expect.poll(() => stateAtFirstAfter, { timeout: 3000 }).toBeDefined();
    expect(stateAtFirstAfter).toBe("connected");
    expect(a.states.slice(-2)).toEqual(["disconnected", "connected"]);
  });

  it("a quiet path whose checks are answered stays 'connected'", async () => {
    // No media and no data: only the watch's checks (and consent) cross, for three times the backstop.
    const a = newPeer();
    const b = newPeer();
    a.onicecandidate = ({ candidate }) => candidate && void b.addIceCandidate(candidate);
    b.onicecandidate = ({ candidate }) => candidate && void a.addIceCandidate(candidate);
    a.createDataChannel("quiet");
    await offerAnswer(a, b);
    await expect
      .poll(() => [a.connectionState, b.connectionState], { timeout: 10_000 })
      .toEqual(["connected", "connected"]);
    const states: string[] = [];
    for (const pc of [a, b]) pc.connectionStateChange.subscribe((state) => states.push(state));
    await sleep(7500);
    expect(states).toEqual([]);
  });
});

describe("ICE transport states (patch 22)", () => {
  it("reports no 'completed' for finished gathering: new → checking → connected", async () => {
    const a = newPeer();
    const b = newPeer();
    const seen: string[] = [];
    a.iceConnectionStateChange.subscribe((state) => seen.push(state));
    a.onicecandidate = ({ candidate }) => candidate && void b.addIceCandidate(candidate);
    b.onicecandidate = ({ candidate }) => candidate && void a.addIceCandidate(candidate);
    a.createDataChannel("c");
    await offerAnswer(a, b);
    await expect.poll(() => a.connectionState, { timeout: 10_000 }).toBe("connected");
    expect(seen).toEqual(["checking", "connected"]);
  });

  it("an ICE restart on a dead path does not call the connection 'connected' before its checks", async () => {
    const [a, b] = await sendingPair();
    const transport = selectedTransport(b.pc);
    transport.send = async () => {}; // b's packets are lost: a's path is dead
    await expect.poll(() => a.pc.connectionState, { timeout: 5000, interval: 50 }).toBe("disconnected");
    // a restarts ICE: new credentials, gathering done at once on loopback. The far end never hears of it.
    a.pc.onicecandidate = () => {};
    await a.pc.setLocalDescription(await a.pc.createOffer({ iceRestart: true }));
    await expect.poll(() => a.pc.iceGatheringState).toBe("complete");
    await sleep(300);
    expect(a.pc.connectionState).toBe("disconnected");
    expect(a.states).not.toContain("connected");
  });
});
