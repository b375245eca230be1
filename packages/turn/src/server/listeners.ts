import type { RemoteInfo } from "node:dgram";
import { createServer as createTcpServer, isIPv6, type ListenOptions, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { TurnError } from "../errors.js";
import { bindUdp, type UdpEndpoint } from "../transport/udp.js";
import type { TurnServerOptions } from "./server.js";

export type ListenerTransport = "udp" | "tcp" | "tls";
export interface BoundAddress {
  transport: ListenerTransport;
  address: string;
  port: number;
}

/** The server options that say what to listen on. */
export type ListenerOptions = Pick<
  TurnServerOptions,
  "listeningIps" | "listeningPort" | "tlsListeningPort" | "tls" | "noUdp" | "noTcp"
>;

export interface ListenerHandlers {
  datagram(data: Buffer, from: RemoteInfo, via: UdpEndpoint): void;
  connection(socket: Socket, transport: "tcp" | "tls"): void;
}

/**
 * The server's listening sockets: UDP and TCP on one port per listening IP, TLS on another. With `reusePort` every
 * relay thread opens its own sockets on the same ports (SO_REUSEPORT) and the kernel keeps each client 5-tuple on
 * one of them; the first thread settles the port numbers (port 0 picks free ones) and the others open exactly those.
 */
export class Listeners {
  readonly udp: UdpEndpoint[] = [];
  private readonly streams: Server[] = [];

  constructor(
    private readonly options: ListenerOptions,
    private readonly handlers: ListenerHandlers,
  ) {}

  /** Bound addresses: UDP first, then TCP, then TLS. */
  get addresses(): BoundAddress[] {
    const out: BoundAddress[] = this.udp.map(({ address, port }) => ({ transport: "udp" as const, address, port }));
    for (const server of this.streams) {
      const a = server.address();
      if (a && typeof a === "object") {
        out.push({ transport: (server as { tls?: boolean }).tls ? "tls" : "tcp", address: a.address, port: a.port });
      }
    }
    return out;
  }

  /** Opens the listeners the options ask for; LISTEN_FAILED names the one that could not be opened. */
  async open(): Promise<void> {
    let port = this.options.listeningPort ?? 3478;
    for (const ip of this.options.listeningIps ?? ["127.0.0.1"]) {
      port = await this.listenUdpAndTcp(ip, port);
      if (this.options.tls) await this.listenStream(ip, this.options.tlsListeningPort ?? 5349, true, false);
    }
  }

  /** The first relay thread: opens the listeners as `open` does, then the same ports again with SO_REUSEPORT. */
  async openFirst(): Promise<void> {
    await this.open();
    const plan = this.addresses;
    await this.close();
    await this.openShared(plan);
  }

  /**
   * Opens exactly `plan` with SO_REUSEPORT. The first relay thread first opens the listeners without it (so a port
   * taken by anyone, including another parley-turn with its own reusePort group, fails as LISTEN_FAILED instead of
   * silently sharing its traffic), closes them and reopens the same ports this way; the other threads follow.
   */
  async openShared(plan: BoundAddress[]): Promise<void> {
    for (const { transport, address, port } of plan) {
      if (transport === "udp") {
        this.udp.push(await bindUdp(address, port, (data, from, via) => this.handlers.datagram(data, from, via), true));
      } else await this.listenStream(address, port, transport === "tls", true);
    }
  }

  async close(): Promise<void> {
    const udp = this.udp.splice(0).map((e) => e.socket);
    const streams = this.streams.splice(0);
    await Promise.all([
      ...udp.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      ...streams.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    ]);
  }

  /**
   * UDP and TCP on one port number, as clients expect. With port 0 the kernel picks UDP's port, and another program
   * may hold the same number for TCP: then both are tried again on a new port (a few times) instead of failing.
   */
  private async listenUdpAndTcp(ip: string, requested: number): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      let port = requested;
      let endpoint: UdpEndpoint | undefined;
      if (!this.options.noUdp) {
        endpoint = await bindUdp(ip, port, (data, from, via) => this.handlers.datagram(data, from, via));
        this.udp.push(endpoint);
        port = endpoint.port;
      }
      if (this.options.noTcp) return port;
      try {
        return await this.listenStream(ip, port, false, false);
      } catch (err) {
        const inUse = /EADDRINUSE/.test((err as Error).message);
        if (!(requested === 0 && endpoint && inUse && attempt < 10)) throw err;
        this.udp.splice(this.udp.indexOf(endpoint), 1);
        await new Promise<void>((resolve) => endpoint.socket.close(() => resolve()));
      }
    }
  }

  private listenStream(ip: string, port: number, tls: boolean, reusePort: boolean): Promise<number> {
    const onConnection = (socket: Socket) => this.handlers.connection(socket, tls ? "tls" : "tcp");
    const server = tls
      ? createTlsServer({ ...this.options.tls, noDelay: true }, onConnection)
      : createTcpServer({ noDelay: true }, onConnection);
    (server as { tls?: boolean }).tls = tls;
    // reusePort is in Node 22.12's net but not in @types/node 20, hence the widened type.
    const listenOptions = { host: ip, port, ipv6Only: isIPv6(ip), ...(reusePort ? { reusePort: true } : {}) };
    return new Promise((resolve, reject) => {
      server.once("error", (err) =>
        reject(new TurnError("LISTEN_FAILED", `cannot listen on ${tls ? "tls" : "tcp"} ${ip}:${port}: ${err.message}`)),
      );
      server.listen(listenOptions as ListenOptions, () => {
        server.removeAllListeners("error");
        server.on("error", () => {});
        this.streams.push(server);
        const a = server.address();
        resolve(a && typeof a === "object" ? a.port : port);
      });
    });
  }
}
