// The embedding examples run as a user would run them, and a client gets in with a token from the app's own route.
import { fileURLToPath } from "node:url";
import { SignalClient } from "@parley/signal";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startProgram } from "../helpers/programs.js";

const examples = fileURLToPath(new URL("../../examples/", import.meta.url));

for (const name of ["embed-signal-in-http", "embed-signal-in-express"]) {
  describe(`examples/${name}`, () => {
    it("keeps the app's routes, serves signalling on /signal with its tokens, and refuses other upgrades", async () => {
      const program = await startProgram({
        name,
        command: process.execPath,
        args: [`${examples}${name}/server.mjs`],
        env: { ...process.env, PORT: "0" },
        readyLine: /listening on http:\/\/127\.0\.0\.1:\d+/,
      });
      const port = Number(/127\.0\.0\.1:(\d+)/.exec(program.output())![1]);
      const base = `http://127.0.0.1:${port}`;
      expect(await (await fetch(`${base}/`)).text()).toMatch(/^hello from/);
      const { token } = (await (await fetch(`${base}/token?user=ada`)).json()) as { token: string };
      const client = await SignalClient.connect(`ws://127.0.0.1:${port}/signal`, { token });
      try {
        await client.join("team-blue");
        await expect(client.join("boardroom")).rejects.toMatchObject({ code: "FORBIDDEN" });
        await expect(SignalClient.connect(`ws://127.0.0.1:${port}/signal`)).rejects.toMatchObject({
          code: "UNAUTHORIZED",
        });
        const status = await new Promise<number | undefined>((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/elsewhere`);
          ws.on("unexpected-response", (_req, res) => resolve(res.statusCode));
          ws.on("error", () => resolve(undefined));
        });
        expect(status).toBe(404);
      } finally {
        client.close();
      }
      // Ctrl-C: the example shuts down cleanly (exit code 0).
      program.process.kill("SIGINT");
      const code = await new Promise<number | null>((resolve) => program.process.once("exit", resolve));
      expect(code).toBe(0);
    });
  });
}
