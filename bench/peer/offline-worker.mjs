// One measurement on a machine that looks offline (run with --import offline-host.mjs). Prints one JSON line.
//   node offline-worker.mjs werift MODULE   a werift pair in this process, createDataChannel → open, no ICE servers
//   node offline-worker.mjs parley DIR      Parley join() → channel open through a signalling server, with the
//                                           @parley/peer and @parley/signal that DIR's node_modules resolve
import { createRequire } from "node:module";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";

const [mode, target] = process.argv.slice(2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function weriftSetup(module) {
  const { RTCPeerConnection } = await import(pathToFileURL(module).href);
  const config = { iceServers: [], iceUseIpv6: false, iceAdditionalHostAddresses: ["127.0.0.1"] };
  const a = new RTCPeerConnection(config);
  const b = new RTCPeerConnection(config);
  const t0 = performance.now();
  const channel = a.createDataChannel("bench");
  const opened = new Promise((resolve) => {
    channel.onopen = () => resolve();
  });
  await a.setLocalDescription(await a.createOffer());
  await gathered(a);
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await gathered(b);
  await a.setRemoteDescription(b.localDescription);
  await opened;
  const ms = performance.now() - t0;
  await a.close();
  await b.close();
  return ms;
}

function gathered(pc) {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.iceGatheringStateChange.subscribe((s) => s === "complete" && resolve());
  });
}

async function parleyJoin(dir, round) {
  const require = createRequire(join(dir, "package.json"));
  const { Peer } = await import(pathToFileURL(require.resolve("@parley/peer")).href);
  const { createSignalServer } = await import(pathToFileURL(require.resolve("@parley/signal")).href);
  const server = createSignalServer();
  const url = `ws://127.0.0.1:${await server.listen(0)}`;
  // Default ICE settings, as a user's bot has them: what matters here is what the stack does with no ICE servers.
  const a = await Peer.connect(url);
  const b = await Peer.connect(url);
  const ra = await a.join(`r${round}`, { receive: { audio: false, video: false } });
  await ra.openChannel("bench");
  const t0 = performance.now();
  const rb = await b.join(`r${round}`, { receive: { audio: false, video: false } });
  await new Promise((resolve) => {
    const check = () =>
      rb.members.get(a.id)?.channel("bench")?.readyState === "open" ? resolve() : setTimeout(check, 1);
    check();
  });
  const ms = performance.now() - t0;
  await a.close();
  await b.close();
  await server.close();
  return ms;
}

const times = [];
for (let i = 0; i < ROUNDS; i++)
  times.push(mode === "werift" ? await weriftSetup(target) : await parleyJoin(target, i));
console.log(JSON.stringify({ mode, target, medianMs: median(times), times }));
process.exit(0);
