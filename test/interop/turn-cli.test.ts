// The parley-turn command line as an operator meets it: bad flags stop startup with a precise message.
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { TurnClient } from "@parley/turn";
import { describe, expect, it } from "vitest";
import { selfSignedCert, startParleyTurn, turnCli } from "../helpers/parley-turn.js";
import { freePort } from "../helpers/ports.js";
import { runProgram } from "../helpers/programs.js";
import { hasTool } from "../helpers/require-tool.js";

const cli = (args: string[]) => runProgram(process.execPath, [turnCli, ...args], { timeoutMs: 20_000 });

describe("parley-turn refuses bad command lines", () => {
  const rows: Array<[string, string[], RegExp]> = [
    ["an unknown flag", ["--frobnicate"], /Unknown option '--frobnicate'/],
    [
      "a bad denied-peer-ip range",
      ["--denied-peer-ip=10.0.0.300-10.0.0.5"],
      /--denied-peer-ip: "10.0.0.300-10.0.0.5" is not an IP address/,
    ],
    ["a reversed range", ["--allowed-peer-ip=10.0.0.9-10.0.0.1"], /first address must not be after the last/],
    [
      "a missing certificate file",
      ["--cert=/nonexistent/cert.pem", "--pkey=/nonexistent/key.pem"],
      /--cert \/nonexistent\/cert.pem: ENOENT/,
    ],
    ["a non-numeric port", ["-p", "eighty"], /--listening-port: "eighty" is not a port number/],
    ["a listening address that is not an IP", ["-L", "localhost"], /--listening-ip: "localhost" is not an IP address/],
    ["--use-auth-secret without a secret", ["--use-auth-secret"], /needs at least one --static-auth-secret/],
    ["an inverted port range", ["--min-port=60000", "--max-port=50000"], /--min-port 60000 is above --max-port 50000/],
    ["a non-numeric auth budget", ["--auth-failure-rate=lots"], /--auth-failure-rate: "lots" is not a whole number/],
    [
      "65 relay threads",
      ["--relay-threads=65"],
      /--relay-threads: "65" is not a thread count \(0-64; 0 = one per core\)/,
    ],
    ["a word for relay threads", ["-m", "two"], /--relay-threads: "two" is not a thread count/],
  ];
  for (const [name, args, message] of rows) {
    it(`stops on ${name}`, async () => {
      const { code, output } = await cli(args);
      expect(code).toBe(2);
      expect(output).toMatch(message);
    });
  }

  it("reports a port already in use instead of crashing", async () => {
    const first = await startParleyTurn(["--user=a:b", "--no-tls"]);
    const { code, output } = await cli(["--user=a:b", "--no-tls", `--listening-port=${first.port}`]);
    expect(code).toBe(1);
    expect(output).toMatch(new RegExp(`cannot listen on (udp|tcp) 127.0.0.1:${first.port}`));
  });
});

describe("parley-turn --prometheus (coturn's flag)", () => {
  it("serves /metrics with the server's metrics and answers / as a health check", async () => {
    const metricsPort = await freePort();
    const { program, port } = await startParleyTurn([
      "--user=a:b",
      "--no-tls",
      "--prometheus",
      `--prometheus-port=${metricsPort}`,
    ]);
    expect(program.output()).toContain(`prometheus: http://127.0.0.1:${metricsPort}/metrics`);
    const client = await TurnClient.connect({ host: "127.0.0.1", port, username: "a", password: "b" });
    await client.allocate();
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).toMatch(/^parley_turn_allocations_active\{transport="udp"\} 1$/m);
    expect(text).toMatch(/^parley_turn_allocations_created_total\{transport="udp"\} 1$/m);
    expect(text).toMatch(/^parley_turn_process_cpu_seconds_total /m);
    client.close();
    expect(await (await fetch(`http://127.0.0.1:${metricsPort}/`)).text()).toBe("ok\n");
    expect((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status).toBe(404);
  });

  it("stops with a clear message when the metrics port is taken", async () => {
    const first = await startParleyTurn(["--user=a:b", "--no-tls"]);
    const { code, output } = await cli(["--user=a:b", "--no-tls", "--prometheus", `--prometheus-port=${first.port}`]);
    expect(code).toBe(1);
    expect(output).toMatch(new RegExp(`cannot serve Prometheus metrics on 127.0.0.1:${first.port}`));
  });
});

describe("parley-turn accepts coturn's command lines", () => {
  it("logs the effective peer policy at start: safe by default, and what each flag opened", async () => {
    const closed = await startParleyTurn(["--user=a:b", "--no-tls"]);
    expect(closed.program.output()).toMatch(/peer policy: refusing loopback .*private or special-purpose range/);
    const open = await startParleyTurn([
      "--user=a:b",
      "--no-tls",
      "--allow-loopback-peers",
      "--allow-private-peers",
      "--denied-peer-ip=10.9.0.0/16",
    ]);
    expect(open.program.output()).toMatch(
      /peer policy: .*opened by --allow-loopback-peers, --allow-private-peers; denied 10\.9\.0\.0\/16/,
    );
  });

  it("accepts coturn-internal flags with a one-line notice each", async () => {
    const { program } = await startParleyTurn(["--user=a:b", "--no-tls", "--no-cli", "--cli-password=x", "--syslog"]);
    for (const flag of ["no-cli", "cli-password", "syslog"]) {
      expect(program.output()).toMatch(new RegExp(`notice: --${flag} is accepted for coturn compatibility`));
    }
  });

  it("runs -m/--relay-threads N relay threads, one per core by default, or one with a notice without reusePort", async () => {
    const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
    const reusePort = major > 22 || (major === 22 && minor >= 12);
    const { program } = await startParleyTurn(["--user=a:b", "--no-tls", "-m", "2"]);
    if (reusePort) expect(program.output()).toMatch(/relay threads: 2\n/);
    else
      expect(program.output()).toMatch(
        /relay threads: 1\n.*notice: relay threads: 1 of the 2 asked for \(Node .* has no reusePort/,
      );
    const defaults = await startParleyTurn(["--user=a:b", "--no-tls"]);
    expect(defaults.program.output()).toMatch(
      new RegExp(`relay threads: ${reusePort ? availableParallelism() : 1}\\n`),
    );
  });

  it.skipIf(!hasTool("openssl"))("reads a turnserver.conf given with -c, with command-line flags on top", async () => {
    const { dir } = selfSignedCert();
    const conf = join(dir, "turnserver.conf");
    writeFileSync(conf, "# a comment\nrealm=conf.example\nuser=carol:pw\nverbose\nno-tls\n");
    const { program } = await startParleyTurn(["-c", conf]);
    expect(program.output()).toMatch(/realm "conf.example", ready/);
  });

  it("prints the long-term key the way turnadmin -k does", async () => {
    const admin = turnCli.replace("turnserver.js", "turnadmin.js");
    const { code, output } = await runProgram(process.execPath, [
      admin,
      "-k",
      "-u",
      "ninefingers",
      "-r",
      "north.gov",
      "-p",
      "youhavetoberealistic",
    ]);
    expect(code).toBe(0);
    expect(output.trim()).toBe("0xbc807ee29df3c9ffa736523fb2c4e8ee");
  });
});
