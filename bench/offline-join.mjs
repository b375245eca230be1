#!/usr/bin/env node
// Setup time on a host without internet whose DNS still answers (the common locked-down server): werift as the
// registry ships it (falls back to a public STUN server and waits for an answer that never comes) against
// @parley/werift, and Parley's join → channel open with the workspace's packages and, given --app DIR, with the ones
// npm installed into DIR (test/package makes such an app). Each in its own process, same run. Loopback only: the
// "internet" is a UDP socket on 127.0.0.1 that swallows every packet.
import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { report } from "./lib.mjs";

const here = new URL(".", import.meta.url).pathname;
const app = process.argv.includes("--app") ? process.argv[process.argv.indexOf("--app") + 1] : undefined;

// Google's STUN port, the one werift falls back to; offline-host.mjs resolves every public name to 127.0.0.1.
const blackhole = createSocket("udp4");
await new Promise((resolve, reject) => {
  blackhole.once("error", reject);
  blackhole.bind(19302, "127.0.0.1", resolve);
});
blackhole.on("message", () => {});

function measure(mode, target) {
  // Asynchronous spawn: the blackhole socket lives in this process's event loop and must keep reading meanwhile.
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", `${here}peer/offline-host.mjs`, `${here}peer/offline-worker.mjs`, mode, target],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (!line) reject(new Error(`${mode} ${target} failed (${code}):\n${err.slice(-2000)}`));
      else resolve(JSON.parse(line));
    });
  });
}

const pristine = await measure("werift", `${here}../packages/werift/node_modules/werift/lib/index.mjs`);
const patched = await measure("werift", `${here}../packages/werift/lib/index.mjs`);
const workspace = await measure("parley", here);
const installed = app ? await measure("parley", app) : undefined;
blackhole.close();
const r = (x) => Math.round(x);
report(
  "offline-join",
  { pristineWerift: pristine, parleyWerift: patched, parleyWorkspace: workspace, parleyInstalled: installed },
  `offline host: werift pair setup ${r(pristine.medianMs)} ms as the registry ships it vs ${r(patched.medianMs)} ms ` +
    `with @parley/werift (${(pristine.medianMs / patched.medianMs).toFixed(0)}×); Parley join→open ` +
    `${r(workspace.medianMs)} ms (workspace)${installed ? `, ${r(installed.medianMs)} ms (npm-installed)` : ""}`,
);
