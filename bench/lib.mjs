// Shared benchmark plumbing: free ports, child servers, CPU accounting from /proc, and the report format.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { performance } from "node:perf_hooks";

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts `command` and resolves once a line of its output matches `ready`. */
export function startServer(command, args, ready, timeoutMs = 15_000, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
    let output = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} not ready after ${timeoutMs} ms:\n${output.slice(-2000)}`));
    }, timeoutMs);
    const onData = (chunk) => {
      output += chunk;
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve({
          child,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done();
              child.once("exit", done);
              child.kill("SIGTERM");
              setTimeout(() => child.kill("SIGKILL"), 3000).unref();
            }),
        });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code}) before ready:\n${output.slice(-2000)}`));
    });
  });
}

/** CPU time (user+system) a process has used, in microseconds, from /proc/PID/stat. */
export function cpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15 of stat)
  return (ticks * 1e6) / 100; // USER_HZ is 100 on Linux
}

/**
 * Datagrams this machine's kernel dropped because a UDP socket's receive buffer was full (Linux: RcvbufErrors in
 * /proc/net/snmp), or undefined where that is not known. Machine-wide: take the difference around a load.
 */
export function udpReceiveBufferDrops() {
  try {
    const udp = readFileSync("/proc/net/snmp", "utf8")
      .split("\n")
      .filter((l) => l.startsWith("Udp:"))
      .map((l) => l.split(/\s+/));
    return Number(udp[1][udp[0].indexOf("RcvbufErrors")]);
  } catch {
    return undefined;
  }
}

export function rssKiB(pid) {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return line ? Number(line.split(/\s+/)[1]) : 0;
}

/** Prints one JSON line and one human line, the format every Parley benchmark uses. */
export function report(name, result, human) {
  console.log(JSON.stringify({ bench: name, ...result }));
  console.log(`${name}: ${human}`);
}

/**
 * Asks a benchmark server (one started with --expose-gc that runs `answerRssRequests`) to collect garbage and report
 * its RSS, so memory per connection is not blurred by garbage the collector has not reached yet.
 */
export function settledRssKiB(server) {
  return new Promise((resolve) => {
    const onData = (chunk) => {
      const m = /rss (\d+)/.exec(String(chunk));
      if (!m) return;
      server.child.stdout.off("data", onData);
      resolve(Number(m[1]));
    };
    server.child.stdout.on("data", onData);
    server.child.stdin.write("rss\n");
  });
}

/** The server side of settledRssKiB: on a line on stdin, gc() and print "rss <KiB>". */
export function answerRssRequests() {
  process.stdin.on("data", () => {
    globalThis.gc?.();
    console.log(`rss ${Math.round(process.memoryUsage().rss / 1024)}`);
  });
}

/**
 * Parley's join() → channel open through a signalling server on loopback, what a bot author sees: one member is in
 * the room with a channel open, the second joins, and the clock stops when the channel is open on its side. Takes
 * the packages' modules, so a bench can measure the workspace's or an npm-installed copy. Returns each round in ms.
 */
export async function parleyJoinToOpen({ Peer, createSignalServer }, { rounds = 5, rtc } = {}) {
  const server = createSignalServer();
  const url = `ws://127.0.0.1:${await server.listen(0)}`;
  const options = rtc ? { rtc } : {};
  const times = [];
  for (let i = 0; i < rounds; i++) {
    const a = await Peer.connect(url, options);
    const b = await Peer.connect(url, options);
    const ra = await a.join(`r${i}`, { receive: { audio: false, video: false } });
    await ra.openChannel("bench");
    const t0 = performance.now();
    const rb = await b.join(`r${i}`, { receive: { audio: false, video: false } });
    await new Promise((resolve) => {
      const check = () =>
        rb.members.get(a.id)?.channel("bench")?.readyState === "open" ? resolve() : setTimeout(check, 1);
      check();
    });
    times.push(performance.now() - t0);
    await a.close();
    await b.close();
  }
  await server.close();
  return times;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * A Node binary with SO_REUSEPORT (≥ 22.12) for servers that use every core: this one if it qualifies, else Node 24
 * from the npm registry (the package `node`, as the test runner uses), resolved once to its binary so that the
 * process measured is the server itself and not npx.
 */
export function reusePortNode() {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major > 22 || (major === 22 && minor >= 12)) return process.execPath;
  const found = spawnSync("npx", ["-y", "node@24", "-p", "process.execPath"], { encoding: "utf8" });
  const path = found.stdout.trim().split("\n").at(-1);
  if (found.status !== 0 || !path) throw new Error(`cannot get Node 24 through npx: ${found.stderr}`);
  return path;
}

/**
 * Reads a child's stdout line by line: `wait(re)` resolves with the first line (seen already or to come) matching
 * `re`; `seen` holds every line so far.
 */
export function lines(child) {
  const seen = [];
  const waiters = [];
  let buffer = "";
  child.stdout.on("data", (d) => {
    buffer += d;
    const parts = buffer.split("\n");
    buffer = parts.pop() ?? "";
    for (const line of parts) {
      seen.push(line);
      for (const w of [...waiters]) {
        if (!w.re.test(line)) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  return {
    seen,
    wait: (re) =>
      new Promise((resolve) => {
        const hit = seen.find((l) => re.test(l));
        hit ? resolve(hit) : waiters.push({ re, resolve });
      }),
  };
}

/** ffmpeg's own CPU time (its -benchmark utime + stime, one thread) for `args`, in seconds. */
export function ffmpegCpu(args) {
  const out = spawnSync("ffmpeg", ["-hide_banner", "-benchmark", "-threads", "1", ...args], { encoding: "utf8" });
  const m = /utime=([\d.]+)s stime=([\d.]+)s/.exec(out.stderr);
  if (out.status !== 0 || !m) throw new Error(`ffmpeg failed: ${out.stderr.slice(-500)}`);
  return Number(m[1]) + Number(m[2]);
}

/** CPU seconds (user + system, every thread of this process) and wall seconds that `run` took. */
export async function cpuSeconds(run) {
  const before = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const used = process.cpuUsage(before);
  return { cpu: (used.user + used.system) / 1e6, wall: (performance.now() - t0) / 1000 };
}
