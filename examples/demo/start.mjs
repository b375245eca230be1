#!/usr/bin/env node
// `pnpm start`: the demo on embedded defaults. Open the printed URL, join with camera and mic, see and hear the
// bot's echo, chat with it, and download what it recorded. Ctrl-C stops everything (recordings are finalized).
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

// Build first (incremental, so a second start is instant); the packages are imported from their dist/ builds.
const root = fileURLToPath(new URL("../..", import.meta.url));
execFileSync(`${root}node_modules/.bin/tsc`, ["-b"], { cwd: root, stdio: "inherit" });
execFileSync(process.execPath, [`${root}scripts/bundle-browser.mjs`], { cwd: root, stdio: "inherit" });
const { startDemo } = await import("./server.mjs");
const { demoTls } = await import("./tls.mjs");

let demo;
let tls;
try {
  const host = process.env.PARLEY_HOST ?? "127.0.0.1";
  tls = await demoTls(process.env, host);
  demo = await startDemo({
    port: Number(process.env.PORT ?? 8080),
    turnPort: Number(process.env.PARLEY_TURN_PORT ?? 3478),
    host,
    recordings: process.env.PARLEY_RECORDINGS,
    ...(tls ? { tls } : {}),
  });
} catch (err) {
  console.error(`demo failed to start: ${err.message}`);
  process.exit(1);
}
console.log(`Parley demo: open ${demo.url}  (TURN on port ${demo.turnPort}, recordings in ${demo.recordings})`);
console.log(`WHIP: publish (OBS 30+, ffmpeg 8, any WHIP client) to ${demo.whipUrl}   WHEP: play ${demo.whepUrl}`);
if (tls?.selfSigned)
  console.log(`self-signed certificate for this run, SHA-256 ${tls.fingerprint}: the browser warns once; accept it`);
console.log("press Ctrl-C to stop");

let stopping = false;
for (const signalName of ["SIGINT", "SIGTERM"]) {
  process.on(signalName, async () => {
    if (stopping) return;
    stopping = true;
    console.log("stopping… (finalizing recordings)");
    await demo.close();
    process.exit(0);
  });
}
