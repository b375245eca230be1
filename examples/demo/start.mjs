#!/usr/bin/env node
// `pnpm start`: the demo on embedded defaults. Until the recording/echo demo lands (issue #6) it starts the
// signalling server and the STUN/TURN server on loopback and prints their URLs; Ctrl-C stops both cleanly.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

// Build first (incremental, so a second start is instant); the packages are imported from their dist/ builds.
const root = fileURLToPath(new URL("../..", import.meta.url));
execFileSync(`${root}node_modules/.bin/tsc`, ["-b"], { cwd: root, stdio: "inherit" });
execFileSync(process.execPath, [`${root}packages/signal/scripts/bundle.mjs`], { cwd: root, stdio: "inherit" });
const { createSignalServer } = await import("@parley/signal");
const { createTurnServer } = await import("@parley/turn");

const signalPort = Number(process.env.PARLEY_SIGNAL_PORT ?? 8080);
const turnPort = Number(process.env.PARLEY_TURN_PORT ?? 3478);
const host = process.env.PARLEY_HOST ?? "127.0.0.1";

const signal = createSignalServer();
const turn = createTurnServer({ listeningIps: [host], listeningPort: turnPort });
try {
  const port = await signal.listen(signalPort, host);
  await turn.listen();
  console.log(`signalling server: ws://${host}:${port}`);
  for (const a of turn.addresses) console.log(`STUN server:       stun:${a.address}:${a.port}`);
  console.log("ready; press Ctrl-C to stop");
} catch (err) {
  console.error(`demo failed to start: ${err.message}`);
  await Promise.all([signal.close(), turn.close()]);
  process.exit(1);
}

let stopping = false;
for (const signalName of ["SIGINT", "SIGTERM"]) {
  process.on(signalName, async () => {
    if (stopping) return;
    stopping = true;
    console.log("stopping…");
    await Promise.all([signal.close(), turn.close()]);
    process.exit(0);
  });
}
