import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./ports.js";
import { type RunningProgram, startProgram } from "./programs.js";

export const turnCli = fileURLToPath(new URL("../../packages/turn/dist/cli/turnserver.js", import.meta.url));

/** A self-signed certificate and key in a fresh temp directory, made by openssl as an operator would. */
export function selfSignedCert(): { dir: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), "parley-cert-"));
  const cert = join(dir, "turn_server_cert.pem");
  const key = join(dir, "turn_server_pkey.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
    ],
    {
      stdio: "ignore",
    },
  );
  return { dir, cert, key };
}

/** Starts the parley-turn CLI with `args` plus free listening ports; resolves once it prints "ready". */
export async function startParleyTurn(
  args: string[],
  /** `cli`: another parley-turn than the workspace's, e.g. the one an npm install put in node_modules/.bin. */
  options: { cwd?: string; cli?: string } = {},
): Promise<{ program: RunningProgram; port: number; tlsPort: number }> {
  const port = await freePort();
  const tlsPort = await freePort();
  const program = await startProgram({
    name: "parley-turn",
    command: process.execPath,
    args: [options.cli ?? turnCli, ...args, `--listening-port=${port}`, `--tls-listening-port=${tlsPort}`],
    readyLine: /ready/,
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  return { program, port, tlsPort };
}

/**
 * coturn's own turnserver on a free loopback port, with what every test run needs (no config file, no CLI, no
 * TLS/DTLS, one relay thread, log to stdout) plus `args`. Resolves with its port once it accepts connections.
 */
export async function startCoturnServer(args: string[]): Promise<number> {
  const port = await freePort();
  await startProgram({
    name: "turnserver",
    command: "turnserver",
    args: [
      ...["-n", "--no-cli", "--log-file=stdout", "--no-tls", "--no-dtls", "-m", "1"],
      ...["--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", `--listening-port=${port}`],
      ...args,
    ],
    readyPort: port,
  });
  return port;
}

/** coturn's turnutils_peer: a UDP echo peer on 127.0.0.1. */
export async function startCoturnPeer(): Promise<{ program: RunningProgram; port: number }> {
  const port = await freePort();
  const program = await startProgram({
    name: "turnutils_peer",
    command: "turnutils_peer",
    args: ["-L", "127.0.0.1", "-p", String(port)],
    readyUdpPort: port,
  });
  return { program, port };
}

/** What a turnutils_uclient run reported: coturn prints "tot_send_bytes ~ N, tot_recv_bytes ~ N" at the end. */
export function uclientTotals(
  output: string,
): { sent: number; received: number; lost: number | undefined } | undefined {
  const totals = [...output.matchAll(/tot_send_bytes ~ (\d+), tot_recv_bytes ~ (\d+)/g)].at(-1);
  if (!totals) return undefined;
  const lost = /Total lost packets (\d+)/.exec(output);
  return { sent: Number(totals[1]), received: Number(totals[2]), lost: lost ? Number(lost[1]) : undefined };
}
