// coturn's own TURN test client, turnutils_uclient, against the parley-turn CLI started with our users' command line.
// A run passes when coturn reports equal send and receive totals (what coturn's own CI looks at), not just exit 0.
import { beforeAll, describe, expect, it } from "vitest";
import { selfSignedCert, startCoturnPeer, startParleyTurn, uclientTotals } from "../helpers/parley-turn.js";
import { type RunningProgram, runProgram } from "../helpers/programs.js";
import { hasTool } from "../helpers/require-tool.js";

const run = hasTool("coturn") && hasTool("openssl");

// Each suite runs against one relay thread and against two (SO_REUSEPORT, where Node has it): the kernel then
// spreads uclient's 5-tuples, so moves (-M), reservations and RFC 6062 data connections (-T) cross threads.
describe.skipIf(!run).each(["1", "2"])(
  "turnutils_uclient against parley-turn -m %s (static users, realm north.gov)",
  (threads) => {
    let port: number;
    let tlsPort: number;
    let peerPort: number;
    let server: RunningProgram;

    beforeAll(async () => {
      const { cert, key } = selfSignedCert();
      // The line from our users' notes, with --allow-loopback-peers because this host is loopback-only.
      const started = await startParleyTurn([
        "--user=ninefingers:0xbc807ee29df3c9ffa736523fb2c4e8ee",
        "--user=gorst:hero",
        "-r",
        "north.gov",
        `--cert=${cert}`,
        `--pkey=${key}`,
        "--log-file=stdout",
        "-v",
        "--mobility",
        "--cipher-list=ALL",
        "--allow-loopback-peers",
        `--relay-threads=${threads}`,
      ]);
      port = started.port;
      tlsPort = started.tlsPort;
      server = started.program;
      peerPort = (await startCoturnPeer()).port;
    });

    const uclient = async (extra: string[], messages = 10, clients = 1) => {
      const args = [
        "-z",
        "5",
        "-n",
        String(messages),
        "-m",
        String(clients),
        "-l",
        "170",
        "-e",
        "127.0.0.1",
        "-r",
        String(peerPort),
      ];
      args.push("-X", "-g", "-u", "ninefingers", "-w", "youhavetoberealistic", ...extra, "127.0.0.1");
      const { output } = await runProgram("turnutils_uclient", args, { timeoutMs: 90_000 });
      return { output, totals: uclientTotals(output) };
    };

    const expectPassed = (result: { output: string; totals: ReturnType<typeof uclientTotals> }, bytes: number) => {
      if (!result.totals) throw new Error(`no totals in uclient output:\n${result.output.slice(-3000)}`);
      expect(result.totals.sent).toBe(bytes);
      expect(result.totals.received).toBe(bytes);
    };

    it("relays over UDP with Send/Data indications (-s)", async () => {
      expectPassed(await uclient(["-s", "-p", String(port)]), 2 * 10 * 170);
    });

    it("relays over UDP with channels", async () => {
      expectPassed(await uclient(["-p", String(port)]), 2 * 10 * 170);
    });

    it("relays over TCP (-t) with channels and with indications", async () => {
      expectPassed(await uclient(["-t", "-p", String(port)]), 2 * 10 * 170);
      expectPassed(await uclient(["-t", "-s", "-p", String(port)]), 2 * 10 * 170);
    });

    it("serves 30 and 40 TCP clients from one address at once (-t -m 30/40), as coturn does", async () => {
      // Each client's first Allocate draws a 401. Those used to spend the per-address failed-auth budget, so the
      // clients past it never got their challenge and uclient hung, every time (users behind one NAT alike).
      expectPassed(await uclient(["-t", "-p", String(port)], 10, 30), 30 * 10 * 170); // -m N runs N sessions
      expectPassed(await uclient(["-t", "-p", String(port)], 10, 40), 40 * 10 * 170);
    });

    it("relays over TLS (-t -S)", async () => {
      expectPassed(await uclient(["-t", "-S", "-p", String(tlsPort)]), 2 * 10 * 170);
    });

    it("relays client-to-client through two allocations (-y)", async () => {
      expectPassed(await uclient(["-y", "-p", String(port)]), 4 * 10 * 170);
    });

    it("relays over RFC 6062 TCP allocations, client to client (-T), over TCP and TLS", async () => {
      expectPassed(await uclient(["-T", "-p", String(port)]), 2 * 10 * 170);
      expectPassed(await uclient(["-T", "-S", "-p", String(tlsPort)]), 2 * 10 * 170);
    });

    it("moves allocations to the client's new address with RFC 8016 mobility (-M)", async () => {
      const before = server.output().match(/allocation moved \(mobility\)/g)?.length ?? 0;
      expectPassed(await uclient(["-M", "-p", String(port)]), 2 * 10 * 170);
      // Events (and so these log lines) reach the server's thread a moment after the client's answer.
      const moved = () => server.output().match(/allocation moved \(mobility\)/g)?.length ?? 0;
      await expect.poll(moved).toBeGreaterThan(before);
    });

    it("carries 10 clients × 1000 messages", async () => {
      // uclient pairs its clients: -m 1 runs 2 sessions, -m 10 runs 10.
      expectPassed(await uclient(["-p", String(port)], 1000, 10), 10 * 1000 * 170);
    });

    it("carries 100 clients × 100 messages (-m 100 -n 100)", async () => {
      expectPassed(await uclient(["-p", String(port)], 100, 100), 100 * 100 * 170);
    });
  },
);

describe.skipIf(!run)("turnutils_uclient -W against parley-turn with TURN REST secrets", () => {
  it("authenticates with an ephemeral credential made from the shared secret", async () => {
    const server = await startParleyTurn([
      "--use-auth-secret",
      "--static-auth-secret=secret",
      "-r",
      "north.gov",
      "--allow-loopback-peers",
      "--no-tls",
    ]);
    const peer = await startCoturnPeer();
    const args = [
      "-z",
      "5",
      "-n",
      "10",
      "-m",
      "1",
      "-l",
      "170",
      "-e",
      "127.0.0.1",
      "-r",
      String(peer.port),
      "-X",
      "-g",
    ];
    const { output } = await runProgram(
      "turnutils_uclient",
      [...args, "-W", "secret", "-p", String(server.port), "127.0.0.1"],
      {
        timeoutMs: 60_000,
      },
    );
    expect(uclientTotals(output)).toMatchObject({ sent: 3400, received: 3400 });
  });

  it("fails to authenticate with the wrong secret", async () => {
    const server = await startParleyTurn([
      "--use-auth-secret",
      "--static-auth-secret=secret",
      "-r",
      "north.gov",
      "--no-tls",
      "-v",
    ]);
    const args = ["-z", "5", "-n", "2", "-m", "1", "-l", "170", "-e", "127.0.0.1", "-X", "-g", "-W", "wrong"];
    const { output } = await runProgram("turnutils_uclient", [...args, "-p", String(server.port), "127.0.0.1"], {
      timeoutMs: 30_000,
    });
    expect(uclientTotals(output)?.received ?? 0).toBe(0);
    // With relay threads (the CLI's default) events reach the log a moment after the client's answer.
    await expect
      .poll(() => server.program.output())
      .toMatch(/auth failure: 127\.0\.0\.1:\d+ user="\d+": wrong credentials/);
  });
});
