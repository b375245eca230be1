// Peer connections for werift tests: host candidates on 127.0.0.1 only, and every connection a test made closed
// after it.
import { type RTCDataChannel, RTCPeerConnection } from "@parley/werift";
import { afterEach, expect } from "vitest";

export const LOOPBACK = {
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ["127.0.0.1"],
  iceFilterCandidatePair: (pair: { remoteCandidate: { host: string } }) => pair.remoteCandidate.host === "127.0.0.1",
} as const;

/** Call at the top of a test file: returns a maker of loopback connections, each closed after its test. */
export function loopbackPeers(): () => RTCPeerConnection {
  const open: RTCPeerConnection[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((pc) => pc.close()));
  });
  return () => {
    const pc = new RTCPeerConnection(LOOPBACK);
    open.push(pc);
    return pc;
  };
}

/** One offer/answer exchange from `offerer` to `answerer`. */
export async function offerAnswer(offerer: RTCPeerConnection, answerer: RTCPeerConnection): Promise<void> {
  await offerer.setLocalDescription(await offerer.createOffer());
  await answerer.setRemoteDescription(offerer.localDescription!);
  await answerer.setLocalDescription(await answerer.createAnswer());
  await offerer.setRemoteDescription(answerer.localDescription!);
}

/** Resolves when `pc` is (or becomes) "connected". */
export const connected = (pc: RTCPeerConnection) =>
  new Promise<void>((resolve) => {
    if (pc.connectionState === "connected") return resolve();
    pc.connectionStateChange.subscribe((s) => s === "connected" && resolve());
  });

/** The next data channel the far end opens towards `pc`. */
export const nextChannel = (pc: RTCPeerConnection) =>
  new Promise<RTCDataChannel>((resolve) => pc.onDataChannel.subscribe(resolve));

/** Makes `channel` answer every message with "echo <message>". */
export const echoes = (channel: RTCDataChannel) => channel.onMessage.subscribe((data) => channel.send(`echo ${data}`));

/** Sends `text` on `channel`; resolves with the next message it receives. */
export const reply = (channel: RTCDataChannel, text: string) =>
  new Promise((resolve) => {
    channel.onMessage.subscribe(resolve);
    channel.send(text);
  });

/** Resolves when `channel` is open. */
export const opened = (channel: RTCDataChannel) =>
  new Promise<void>((resolve) => {
    if (channel.readyState === "open") resolve();
    else channel.stateChanged.subscribe((state) => state === "open" && resolve());
  });

/** Sends every 50 ms both ways until each end has received more than five messages. */
export async function bothWaysFlow(atA: RTCDataChannel, atB: RTCDataChannel): Promise<void> {
  const fromB: string[] = [];
  const fromA: string[] = [];
  atA.onmessage = ({ data }) => fromB.push(String(data));
  atB.onmessage = ({ data }) => fromA.push(String(data));
  const pump = setInterval(() => {
    atA.send("a");
    atB.send("b");
  }, 50);
  try {
    await expect.poll(() => fromA.length, { timeout: 10_000 }).toBeGreaterThan(5);
    await expect.poll(() => fromB.length, { timeout: 10_000 }).toBeGreaterThan(5);
  } finally {
    clearInterval(pump);
  }
}
