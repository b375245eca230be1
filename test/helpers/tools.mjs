// The outside programs the interop suites drive, how to tell each is present, and which Debian package brings it.
// Plain JS so the test runner (before any build) and the TypeScript suites share one table.
import { execFileSync, spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";

/** @typedef {{ name: string, debian: string, suites: string, present: () => boolean }} Tool */

const PYTHON = "/usr/bin/python3";

function onPath(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** @type {Tool[]} */
export const tools = [
  {
    name: "coturn",
    debian: "coturn",
    suites: "TURN interop (turnutils_*, turnserver as reference)",
    present: () => ["turnserver", "turnutils_uclient", "turnutils_peer", "turnutils_stunclient"].every(onPath),
  },
  {
    name: "chromium",
    debian: "chromium",
    suites: "browser interop and demo end-to-end",
    present: () => executable("/usr/bin/chromium"),
  },
  {
    name: "aiortc",
    // websockets: the test's Python client for Parley's signalling protocol (test/interop/aiortc/parley_signal.py).
    debian: "python3-aiortc python3-websockets",
    suites: "aiortc interop",
    present: () =>
      executable(PYTHON) && spawnSync(PYTHON, ["-c", "import aiortc, websockets"], { stdio: "ignore" }).status === 0,
  },
  {
    name: "openssl",
    debian: "openssl",
    suites: "TLS certificates for TURN-over-TLS tests",
    present: () => onPath("openssl"),
  },
  { name: "redis", debian: "redis-server", suites: "Redis room store", present: () => onPath("redis-server") },
  { name: "ffmpeg", debian: "ffmpeg", suites: "recording checks", present: () => ["ffmpeg", "ffprobe"].every(onPath) },
];

export const paths = { python: PYTHON, chromium: "/usr/bin/chromium" };

/** Names of the tools that are missing right now. */
export function missingTools() {
  return tools.filter((t) => !t.present()).map((t) => t.name);
}

/**
 * Installs missing tools with apt-get when running as root; returns what is still missing afterwards.
 * Never prompts: DEBIAN_FRONTEND=noninteractive, and policy-rc.d keeps apt from starting redis/coturn services
 * (tests start their own copies on free ports).
 */
export function installMissingTools(log = console.log) {
  const missing = tools.filter((t) => !t.present());
  if (missing.length === 0) return [];
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot || !onPath("apt-get")) {
    log(`cannot install ${missing.map((t) => t.debian).join(" ")}: not root with apt-get`);
    return missing.map((t) => t.name);
  }
  const packages = missing.flatMap((t) => t.debian.split(" "));
  log(`installing Debian packages: ${packages.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const policy = "/usr/sbin/policy-rc.d";
  let wrotePolicy = false;
  try {
    if (!executable(policy)) {
      execFileSync("sh", ["-c", `printf '#!/bin/sh\\nexit 101\\n' > ${policy} && chmod +x ${policy}`]);
      wrotePolicy = true;
    }
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    execFileSync("apt-get", ["install", "-y", "-qq", ...packages], { stdio: "inherit", env });
  } catch (err) {
    log(`apt-get failed: ${err.message}`);
  } finally {
    if (wrotePolicy) execFileSync("rm", ["-f", policy]);
  }
  return missingTools();
}
