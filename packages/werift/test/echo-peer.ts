// The far end for tests of hostile input: an echoing werift in a worker thread (echo-peer.worker.mjs), so a packet
// that crashes or hangs werift takes down that thread only and the test can say so.
import { Worker } from "node:worker_threads";
import type { RTCDataChannel, RTCPeerConnection } from "@parley/werift";
import { afterEach } from "vitest";
import { loopbackPeers } from "./loopback.js";

/** Which werift build the far end loads: the ESM or the CommonJS one. */
export type Build = "import" | "require";
type Description = Parameters<RTCPeerConnection["setRemoteDescription"]>[0];

export interface EchoPeer {
  /** Our end, connected to the worker's. */
  pc: RTCPeerConnection;
  /** An open channel the far end echoes on. */
  channel: RTCDataChannel;
  /** Set when the far end crashed or exited. */
  state: { failure?: string };
}

/** Call at the top of a test file: returns a maker of echo peers, each worker terminated after its test. */
export function echoPeers(): (build: Build) => Promise<EchoPeer> {
  const newPeer = loopbackPeers();
  const workers: Worker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.terminate()));
  });
  return async (build) => {
    const worker = new Worker(new URL("./echo-peer.worker.mjs", import.meta.url), { workerData: build });
    workers.push(worker);
    const state: EchoPeer["state"] = {};
    worker.on("error", (err) => {
      state.failure = `the far end crashed: ${err.message}`;
    });
    worker.on("exit", (code) => {
      state.failure ??= `the far end exited (${code})`;
    });
    const pc = newPeer();
    const channel = pc.createDataChannel("chat");
    await pc.setLocalDescription(await pc.createOffer());
    const answered = new Promise<Description>((resolve) =>
      worker.once("message", (m: { answer: Description }) => resolve(m.answer)),
    );
    const { type, sdp } = pc.localDescription!;
    worker.postMessage({ type, sdp });
    await pc.setRemoteDescription(await answered);
    await new Promise<void>((resolve) => {
      if (channel.readyState === "open") resolve();
      else channel.stateChange.subscribe((s) => s === "open" && resolve());
    });
    return { pc, channel, state };
  };
}

/** Sends `text` and waits (at most 5 s) for its echo; otherwise says why not (the far end's failure, or silence). */
export async function echoes(channel: RTCDataChannel, state: EchoPeer["state"], text: string): Promise<string> {
  const got = new Promise<string>((resolve) => {
    const sub = channel.onMessage.subscribe((data) => {
      if (String(data) !== `echo ${text}`) return;
      sub.unSubscribe();
      resolve(String(data));
    });
  });
  channel.send(text);
  const timeout = new Promise<string>((resolve) => setTimeout(() => resolve(state.failure ?? "no echo in 5 s"), 5000));
  return Promise.race([got, timeout]);
}
