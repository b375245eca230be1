import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { createConnection } from "node:net";
import { afterAll } from "vitest";

export interface ProgramOptions {
  /** Shown in errors and logs. */
  name: string;
  command: string;
  args: string[];
  /** Ready when this TCP port on 127.0.0.1 accepts a connection … (with neither, ready once spawned) */
  readyPort?: number;
  /** … or when something has bound this UDP port on 127.0.0.1 (for programs that print nothing, like turnutils_peer) … */
  readyUdpPort?: number;
  /** … or when a line of stdout/stderr matches. */
  readyLine?: RegExp;
  /** How long to wait for readiness. Default 15 s. */
  readyTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface RunningProgram {
  readonly name: string;
  readonly process: ChildProcess;
  /** Everything the program printed so far (stdout and stderr interleaved), capped at 1 MiB. */
  output(): string;
  /** SIGTERM, then SIGKILL after 3 s; resolves when the process has exited. Safe to call twice. */
  stop(): Promise<void>;
}

const MAX_OUTPUT = 1024 * 1024;
const running = new Set<RunningProgram>();

// Every program a test file starts is stopped when that file ends, even if the test forgot or failed midway.
afterAll(async () => {
  await Promise.all([...running].map((p) => p.stop()));
});

/** Starts an outside program, waits until it is ready, and registers it to be stopped after the test file. */
export async function startProgram(options: ProgramOptions): Promise<RunningProgram> {
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const lineWaiters: Array<() => void> = [];
  const onData = (chunk: Buffer) => {
    if (output.length < MAX_OUTPUT) output += chunk.toString("utf8");
    for (const wake of lineWaiters.splice(0)) wake();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  let stopping: Promise<void> | undefined;
  const program: RunningProgram = {
    name: options.name,
    process: child,
    output: () => output,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          const killer = setTimeout(() => child.kill("SIGKILL"), 3000);
          await exited;
          clearTimeout(killer);
        }
        running.delete(program);
      })();
      return stopping;
    },
  };
  running.add(program);

  const timeoutMs = options.readyTimeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  const spawnError = new Promise<never>((_, reject) => child.once("error", (err) => reject(err)));
  try {
    await Promise.race([spawnError, waitReady(), exited.then(() => Promise.reject(new Error("exited")))]);
  } catch (err) {
    await program.stop();
    throw new Error(
      `${options.name} did not become ready (${(err as Error).message}, exit ${child.exitCode ?? child.signalCode}). Output:\n${output.slice(-4000)}`,
    );
  }
  return program;

  async function waitReady(): Promise<void> {
    if (options.readyPort === undefined && options.readyLine === undefined && options.readyUdpPort === undefined)
      return;
    while (Date.now() < deadline) {
      if (options.readyLine?.test(output)) return;
      if (options.readyPort !== undefined && (await tcpAccepts(options.readyPort))) return;
      if (options.readyUdpPort !== undefined && (await udpBound(options.readyUdpPort))) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        lineWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    throw new Error(`not ready after ${timeoutMs} ms`);
  }
}

/** Runs a program to completion, returning its exit code and output. Killed (and reported) after `timeoutMs`. */
export async function runProgram(
  command: string,
  args: string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ code: number | null; output: string }> {
  const program = await startProgram({ name: command, command, args, ...options });
  const timeoutMs = options.timeoutMs ?? 60_000;
  const timer = setTimeout(() => void program.stop(), timeoutMs);
  await new Promise<void>((resolve) => {
    if (program.process.exitCode !== null || program.process.signalCode !== null) resolve();
    else program.process.once("exit", () => resolve());
  });
  clearTimeout(timer);
  await program.stop();
  return { code: program.process.exitCode, output: program.output() };
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function udpBound(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    socket.once("error", () => {
      socket.close();
      resolve(true);
    });
    socket.bind(port, "127.0.0.1", () => socket.close(() => resolve(false)));
  });
}
