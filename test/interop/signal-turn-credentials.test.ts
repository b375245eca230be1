// The signalling server hands each session ephemeral TURN credentials; here the real TURN servers (ours and coturn's
// turnserver, both in REST-secret mode) accept them, and the client receives fresh ones before they expire.
import { createSignalServer, SignalClient, type SignalServer } from "@parley/signal";
import { createTurnServer, TurnClient, type TurnServer } from "@parley/turn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCoturnServer } from "../helpers/parley-turn.js";
import { hasTool } from "../helpers/require-tool.js";

const secret = "shared-turn-secret";

async function credentialsFor(turnPort: number, ttlSeconds = 600) {
  const signal = createSignalServer({
    turn: { secret, urls: [`turn:127.0.0.1:${turnPort}?transport=udp`, `stun:127.0.0.1:${turnPort}`], ttlSeconds },
  });
  const client = await SignalClient.connect(`ws://127.0.0.1:${await signal.listen(0)}`);
  return { signal, client };
}

async function allocateWith(port: number, iceServers: SignalClient["welcome"]["iceServers"]) {
  const turn = iceServers.find((s) => String(s.urls).includes("turn:"));
  expect(turn).toBeDefined();
  const c = await TurnClient.connect({
    host: "127.0.0.1",
    port,
    username: turn!.username!,
    password: turn!.credential!,
  });
  try {
    return (await c.allocate()).relayed;
  } finally {
    c.close();
  }
}

describe("TURN credentials from the signalling server", () => {
  let turn: TurnServer;
  let port: number;
  let signal: SignalServer;
  let client: SignalClient;

  beforeAll(async () => {
    turn = await createTurnServer({ listeningIps: ["127.0.0.1"], listeningPort: 0, authSecrets: [secret] }).listen();
    port = turn.addresses[0]!.port;
    ({ signal, client } = await credentialsFor(port, 2));
  });
  afterAll(async () => {
    client.close();
    await signal.close();
    await turn.close();
  });

  it("welcome carries STUN and TURN servers with a REST username and credential @parley/turn accepts", async () => {
    const { iceServers } = client.welcome;
    expect(iceServers[0]).toEqual({ urls: [`stun:127.0.0.1:${port}`] });
    expect(iceServers[1]?.username).toMatch(/^\d+:anonymous$/);
    const relayed = await allocateWith(port, iceServers);
    expect(relayed.address).toBe("127.0.0.1");
  });

  it("sends fresh credentials before the old ones expire, and they work too", async () => {
    const before = Number(client.welcome.iceServers[1]!.username!.split(":")[0]);
    const [fresh] = await new Promise<[SignalClient["welcome"]["iceServers"]]>((resolve) =>
      client.once("ice-servers", (s) => resolve([s])),
    );
    expect(Number(fresh[1]!.username!.split(":")[0])).toBeGreaterThan(before);
    expect(client.welcome.iceServers).toEqual(fresh);
    await allocateWith(port, fresh);
  });
});

describe.skipIf(!hasTool("coturn"))("TURN credentials accepted by coturn's turnserver", () => {
  it("allocates on coturn with --use-auth-secret using the welcome's credentials", async () => {
    const port = await startCoturnServer(["--use-auth-secret", `--static-auth-secret=${secret}`, "-r", "parley"]);
    const { signal, client } = await credentialsFor(port);
    try {
      expect((await allocateWith(port, client.welcome.iceServers)).address).toBe("127.0.0.1");
    } finally {
      client.close();
      await signal.close();
    }
  });
});
