import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A real redis-server on loopback, with AOF fsynced on every write (what README asks of production). */
export interface RedisServer {
  port: number;
  url: string;
  /** Kills the server (SIGKILL: no final save; what AOF wrote is all there is) and starts it again on the same port. */
  restart(downMs?: number): Promise<void>;
  /** Kills it and leaves it down until start(). */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export async function startRedis(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "parley-redis-"));
  const port = await freeTcpPort();
  let child: ChildProcess | undefined;
  const launch = async () => {
    const proc = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--protected-mode",
        "no",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child = proc;
    let log = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${port}:\n${log}`)), 10_000);
      proc.stdout!.on("data", (chunk: Buffer) => {
        log += chunk;
        if (/Ready to accept connections/.test(log)) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}):\n${log}`));
      });
    });
    proc.stdout!.resume();
    proc.stderr!.resume();
  };
  const kill = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once("exit", () => resolve());
      proc.kill("SIGKILL");
    });
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    start: launch,
    async restart(downMs = 0) {
      await kill();
      if (downMs) await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
