import { createSignalServer, type SignalServer } from "@parley/signal";
import { createTurnServer, type TurnServer } from "@parley/turn";

/**
 * Two Parley TURN servers on loopback (UDP) and a signalling server that hands out REST credentials for both, in that
 * order: the setup of the failover tests, where the first is closed mid-call.
 */
export async function twoTurnServers(
  secret: string,
): Promise<{ first: TurnServer; second: TurnServer; signal: SignalServer; url: string }> {
  const start = () =>
    createTurnServer({
      listeningIps: ["127.0.0.1"],
      listeningPort: 0,
      authSecrets: [secret],
      peerPolicy: { allowLoopback: true },
    }).listen();
  const [first, second] = [await start(), await start()];
  const udp = (t: TurnServer) => t.addresses.find((a) => a.transport === "udp")!.port;
  const signal = createSignalServer({
    turn: {
      secret,
      urls: [`turn:127.0.0.1:${udp(first)}?transport=udp`, `turn:127.0.0.1:${udp(second)}?transport=udp`],
    },
  });
  return { first, second, signal, url: `ws://127.0.0.1:${await signal.listen(0)}` };
}
