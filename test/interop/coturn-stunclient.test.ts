// coturn's own STUN client against Parley's server: the first proof that we speak STUN the way coturn expects.
import { createTurnServer, type TurnServer } from "@parley/turn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProgram } from "../helpers/programs.js";
import { hasTool } from "../helpers/require-tool.js";

describe.skipIf(!hasTool("coturn"))("turnutils_stunclient against parley-turn", () => {
  let server: TurnServer;
  let port: number;

  beforeAll(async () => {
    server = await createTurnServer({ listeningIps: ["127.0.0.1"], listeningPort: 0 }).listen();
    port = server.addresses[0]!.port;
  });
  afterAll(() => server.close());

  it("gets its UDP reflexive address back", async () => {
    const { code, output } = await runProgram("turnutils_stunclient", ["-p", String(port), "127.0.0.1"], {
      timeoutMs: 20_000,
    });
    expect(output).toMatch(/UDP reflexive addr: 127\.0\.0\.1:\d+/);
    expect(code).toBe(0);
    expect(server.counters.bindingRequests).toBeGreaterThan(0);
  });

  it("gets an answer when it binds a chosen local address (-L)", async () => {
    const { code, output } = await runProgram(
      "turnutils_stunclient",
      ["-L", "127.0.0.1", "-p", String(port), "127.0.0.1"],
      { timeoutMs: 20_000 },
    );
    expect(output).toMatch(/UDP reflexive addr: 127\.0\.0\.1:\d+/);
    expect(code).toBe(0);
  });
});
