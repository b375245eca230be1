// One relay thread of a TurnServer started with relayThreads > 1: a TurnEngine on the server's shared ports
// (SO_REUSEPORT), talking to the main thread for what the whole server shares.
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import type { PeerAddress } from "./allocation.js";
import { TurnEngine } from "./engine.js";
import type { BoundAddress } from "./listeners.js";
import type { MovedAllocation } from "./mobility.js";
import { Rpc } from "./rpc.js";
import { TURN_SERVER_EVENTS, type TurnServerOptions } from "./server.js";

export interface RelayThreadData {
  index: number;
  /** The server's options without its hooks (functions cannot cross threads); the flags say which hooks exist. */
  options: TurnServerOptions;
  hooks: { authenticate: boolean; permit: boolean };
  nonceSecret: Uint8Array;
}

const data = workerData as RelayThreadData;
const port = parentPort as MessagePort;
let engine: TurnEngine;

const rpc = new Rpc(port, {
  listen: ({ plan }: { plan: BoundAddress[] | "first" }) => engine.listen(plan),
  close: async () => {
    await engine.close();
    flushEvents();
    port.postMessage({ rpc: "notify", method: "counters", args: engine.counters });
  },
  counters: () => engine.counters,
  giveAllocation: (a: { ticket: string; username: string; transport: string }) =>
    engine.giveAllocation(a.ticket, a.username, a.transport),
  giveReservation: ({ token }: { token: Uint8Array }) => engine.giveReservation(Buffer.from(token)),
  bindConnection: (a: { id: number; username: string; port: MessagePort }) =>
    engine.bindConnection(a.id, a.username, a.port),
});

const options: TurnServerOptions = { ...data.options };
if (data.hooks.authenticate) {
  options.authenticate = (username, realm, algorithm) =>
    rpc
      .call<Uint8Array[]>("authenticate", { username, realm, algorithm })
      .then((keys) => keys.map((k) => Buffer.from(k)));
}
if (data.hooks.permit) {
  options.permit = (peer: PeerAddress, username: string) => rpc.call<boolean>("permit", { peer, username });
}

engine = new TurnEngine(options, {
  worker: data.index,
  nonceSecret: Buffer.from(data.nonceSecret),
  acquire: (username) => rpc.call<boolean>("acquire", { username }),
  release: (username) => rpc.notify("release", { username }),
  elsewhere: {
    takeAllocation: (owner, ticket, username, transport) =>
      rpc.call<MovedAllocation | undefined>("takeAllocation", { owner, ticket, username, transport }),
    takeReservation: (owner, token) =>
      rpc.call<{ address: string; port: number } | undefined>("takeReservation", { owner, token }),
    bindConnection: (owner, id, username) =>
      rpc.call<MessagePort | undefined>("bindConnection", { owner, id, username }),
  },
});

// Events go to the main thread in batches (one message per turn of the event loop, not one per event), so a flood
// of refused requests costs the relay thread little more than it does in one thread.
let batch: Array<[string, unknown]> = [];
function flushEvents(): void {
  if (batch.length === 0) return;
  rpc.notify("events", batch);
  batch = [];
}
for (const name of TURN_SERVER_EVENTS) {
  engine.on(name, (info: unknown) => {
    if (batch.length === 0) setImmediate(flushEvents);
    batch.push([name, info]);
  });
}
// Counters reach the main thread every second, and on demand (TurnServer.refreshCounters) for a fresh reading.
setInterval(() => rpc.notify("counters", engine.counters), 1000).unref();
