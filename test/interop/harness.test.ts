// The harness every interop suite relies on: real programs on free loopback ports, ready before use, always stopped.
import { describe, expect, it } from "vitest";
import { freePort } from "../helpers/ports.js";
import { runProgram, startProgram } from "../helpers/programs.js";
import { hasTool } from "../helpers/require-tool.js";

describe.skipIf(!hasTool("coturn"))("startProgram with coturn's turnserver", () => {
  it("starts it on a free port, waits until it serves, and stops it for good", async () => {
    const port = await freePort();
    const turnserver = await startProgram({
      name: "turnserver",
      command: "turnserver",
      args: ["-n", "--no-cli", "--log-file=stdout", "--listening-ip=127.0.0.1", `--listening-port=${port}`],
      readyPort: port,
    });
    const { output } = await runProgram("turnutils_stunclient", ["-p", String(port), "127.0.0.1"]);
    expect(output).toMatch(/UDP reflexive addr: 127\.0\.0\.1:\d+/);

    const pid = turnserver.process.pid!;
    await turnserver.stop();
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it("reports a program that exits before it is ready, with its output", async () => {
    await expect(
      startProgram({
        name: "turnserver",
        command: "turnserver",
        args: ["--no-such-flag"],
        readyPort: await freePort(),
      }),
    ).rejects.toThrow(/turnserver did not become ready/);
  });
});
