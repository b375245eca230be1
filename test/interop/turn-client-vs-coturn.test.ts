// Parley's TURN client and `parley-turn probe` against coturn's real turnserver: our client is proven against a
// server nobody here wrote, the same way uclient proves our server.
import { TurnClient } from "@parley/turn";
import { beforeAll, describe, expect, it } from "vitest";
import { startCoturnServer, turnCli } from "../helpers/parley-turn.js";
import { runProgram } from "../helpers/programs.js";
import { hasTool } from "../helpers/require-tool.js";

describe.skipIf(!hasTool("coturn"))("TurnClient against coturn's turnserver", () => {
  let port: number;

  beforeAll(async () => {
    port = await startCoturnServer([
      ...["--min-port=40000", "--max-port=45000", "-a", "-r", "north.gov", "--allow-loopback-peers"],
      "--user=ninefingers:youhavetoberealistic",
    ]);
  });

  for (const transport of ["udp", "tcp"] as const) {
    it(`allocates, binds channels and relays both ways over ${transport}`, async () => {
      const opts = { host: "127.0.0.1", port, transport, username: "ninefingers", password: "youhavetoberealistic" };
      const a = await TurnClient.connect(opts);
      const b = await TurnClient.connect(opts);
      try {
        const ra = (await a.allocate()).relayed;
        const rb = (await b.allocate()).relayed;
        expect(ra.port).toBeGreaterThanOrEqual(40000);
        await a.createPermission(rb.address);
        await b.createPermission(ra.address);
        const viaIndication = new Promise<string>((resolve) => b.once("data", (d) => resolve(d.toString())));
        a.send(rb, Buffer.from("indication to coturn"));
        expect(await viaIndication).toBe("indication to coturn");
        await a.bindChannel(rb);
        await b.bindChannel(ra);
        const viaChannel = new Promise<string>((resolve) => a.once("data", (d) => resolve(d.toString())));
        b.send(ra, Buffer.from("channel data to coturn"));
        expect(await viaChannel).toBe("channel data to coturn");
        expect(await a.refresh(0)).toBe(0);
      } finally {
        a.close();
        b.close();
      }
    });
  }

  it("is refused with 401 by coturn for a wrong password", async () => {
    const c = await TurnClient.connect({ host: "127.0.0.1", port, username: "ninefingers", password: "nope" });
    try {
      await expect(c.allocate()).rejects.toMatchObject({ code: "AUTH_FAILED", stunCode: 401 });
    } finally {
      c.close();
    }
  });

  it("parley-turn probe reports every step passing against coturn", async () => {
    const { code, output } = await runProgram(process.execPath, [
      turnCli,
      "probe",
      `turn:127.0.0.1:${port}?transport=udp`,
      "-u",
      "ninefingers",
      "-p",
      "youhavetoberealistic",
    ]);
    expect(output).toMatch(/✓ ChannelBind and relay over the channel/);
    expect(output).toMatch(/TURN server works/);
    expect(code).toBe(0);
  });
});
