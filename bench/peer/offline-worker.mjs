// One measurement on a machine that looks offline (run with --import offline-host.mjs). Prints one JSON line.
//   node offline-worker.mjs werift MODULE   a werift pair in this process, createDataChannel → open, no ICE servers
//   node offline-worker.mjs parley DIR      Parley join() → channel open through a signalling server, with the
//                                           @parley/peer and @parley/signal that DIR's node_modules resolve
import { createRequire } from "node:module";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { median, parleyJoinToOpen } from "../lib.mjs";

const [mode, target] = process.argv.slice(2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

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

/** The @parley/peer and @parley/signal that `dir`'s node_modules resolve (the workspace's, or an npm install's). */
async function packagesOf(dir) {
  const require = createRequire(join(dir, "package.json"));
  const load = (name) => import(pathToFileURL(require.resolve(name)).href);
  return { ...(await load("@parley/peer")), ...(await load("@parley/signal")) };
}

let times = [];
// Parley with default ICE settings, as a user's bot has them: what matters is what the stack does with no ICE servers.
if (mode === "parley") times = await parleyJoinToOpen(await packagesOf(target), { rounds: ROUNDS });
else for (let i = 0; i < ROUNDS; i++) times.push(await weriftSetup(target));
console.log(JSON.stringify({ mode, target, medianMs: median(times), times }));
process.exit(0);
