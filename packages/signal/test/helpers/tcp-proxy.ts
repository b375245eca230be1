import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy in front of the server, so a test can cut a client's connection the way a network does (both sides
 * see a reset, no close handshake) and refuse reconnections for a while.
 */
export interface TcpProxy {
  port: number;
  /** Destroys every proxied connection now. */
  cut(): void;
  /** While true, new connections are dropped at once. */
  refusing: boolean;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  const proxy: TcpProxy = {
    port: 0,
    refusing: false,
    cut() {
      for (const [a, b] of pairs) {
        a.resetAndDestroy();
        b.resetAndDestroy();
      }
      pairs.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        proxy.cut();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((client) => {
    if (proxy.refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, "127.0.0.1");
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.port = (server.address() as { port: number }).port;
  return proxy;
}
