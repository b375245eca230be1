// The embedding examples run as a user would run them, and a client gets in with a token from the app's own route.
import { fileURLToPath } from "node:url";
import { SignalClient } from "@parley/signal";
import { MediaStreamTrack, RTCPeerConnection } from "@parley/werift";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startProgram } from "../helpers/programs.js";

const examples = fileURLToPath(new URL("../../examples/", import.meta.url));

/** Real offers from werift, as a WHIP publisher (sendonly) or WHEP viewer (recvonly) makes them. */
async function offerOf(direction: "sendonly" | "recvonly"): Promise<string> {
  const pc = new RTCPeerConnection();
  try {
    if (direction === "sendonly") pc.addTransceiver(new MediaStreamTrack({ kind: "video" }), { direction });
    else pc.addTransceiver("video", { direction });
    await pc.setLocalDescription(await pc.createOffer());
    return pc.localDescription!.sdp;
  } finally {
    await pc.close();
  }
}
const whipOffer = () => offerOf("sendonly");
const whepOffer = () => offerOf("recvonly");

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
        if (name === "embed-signal-in-express") {
          // WHIP as Express middleware: the app's tokens and grants apply; a session is made and deleted.
          const offer = await whepOffer();
          const refused = await fetch(`${base}/whep/boardroom`, {
            method: "POST",
            headers: { "content-type": "application/sdp", authorization: `Bearer ${token}` },
            body: offer,
          });
          expect(refused.status).toBe(403);
          const created = await fetch(`${base}/whip/team-blue`, {
            method: "POST",
            headers: { "content-type": "application/sdp", authorization: `Bearer ${token}` },
            body: await whipOffer(),
          });
          expect(created.status).toBe(201);
          const session = new URL(created.headers.get("location")!, base);
          const deleted = await fetch(session, { method: "DELETE", headers: { authorization: `Bearer ${token}` } });
          expect(deleted.status).toBe(200);
          expect(await (await fetch(`${base}/`)).text()).toMatch(/^hello from express/);
        }
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
