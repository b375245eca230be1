import { randomBytes, randomInt } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { createServer, isIPv6, type Server } from "node:net";
import { ipLiteralLookup } from "../transport/ip-lookup.js";

export interface RelaySocket {
  socket: Socket;
  address: string;
  port: number;
}

interface Reservation {
  relay: RelaySocket;
  expiresAt: number;
}

/** How long a port reserved by EVEN-PORT's R bit is held for the follow-up Allocate (RFC 8656 §7.2: ~30 s). */
const RESERVATION_MS = 30_000;
const BIND_ATTEMPTS = 32;

/**
 * Hands out relay sockets from the configured port range (coturn's --min-port/--max-port). Relay sockets are bound
 * without SO_REUSEPORT, so the kernel itself guarantees that no two relay threads ever hold one port; each thread
 * picks at random and tries again on EADDRINUSE.
 */
export class RelayPorts {
  private readonly reservations = new Map<string, Reservation>();

  constructor(
    private readonly minPort: number,
    private readonly maxPort: number,
    /** This relay thread's number, written into the first byte of RESERVATION-TOKENs. */
    private readonly worker = 0,
  ) {}

  /** The relay thread that issued a RESERVATION-TOKEN. */
  static owner(token: Buffer): number {
    return token[0] ?? 0;
  }

  /**
   * Binds a relay socket on `address`. `even` asks for an even port (EVEN-PORT); with `reserveNext` the next port is
   * bound too and held under the returned token. Resolves undefined when no port could be bound (→ 508).
   */
  async allocate(
    address: string,
    options: { even?: boolean; reserveNext?: boolean } = {},
  ): Promise<{ relay: RelaySocket; token?: Buffer } | undefined> {
    for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
      let port = randomInt(this.minPort, this.maxPort + 1);
      if (options.even || options.reserveNext) port &= ~1;
      if (port < this.minPort || (options.reserveNext && port + 1 > this.maxPort)) continue;
      const relay = await bindRelay(address, port);
      if (!relay) continue;
      if (!options.reserveNext) return { relay };
      const next = await bindRelay(address, port + 1);
      if (!next) {
        relay.socket.close();
        continue;
      }
      const token = randomBytes(8);
      // The Allocate that claims the token comes from another 5-tuple, which may reach another relay thread.
      token[0] = this.worker;
      this.reservations.set(token.toString("hex"), { relay: next, expiresAt: Date.now() + RESERVATION_MS });
      return { relay, token };
    }
    return undefined;
  }

  /** Binds a TCP listener for an RFC 6062 allocation; undefined when no port in the range is free. */
  async allocateTcp(address: string): Promise<{ server: Server; address: string; port: number } | undefined> {
    for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
      const port = randomInt(this.minPort, this.maxPort + 1);
      const server = createServer({ noDelay: true, pauseOnConnect: true });
      const ok = await new Promise<boolean>((resolve) => {
        server.once("error", () => resolve(false));
        server.listen({ host: address, port, ipv6Only: isIPv6(address) }, () => resolve(true));
      });
      if (ok) {
        server.removeAllListeners("error");
        server.on("error", () => {});
        return { server, address, port };
      }
      server.close();
    }
    return undefined;
  }

  /** Takes the socket reserved under `token`, or undefined when there is none (or it expired). */
  claim(token: Buffer): RelaySocket | undefined {
    const key = token.toString("hex");
    const reservation = this.reservations.get(key);
    this.reservations.delete(key);
    return reservation?.relay;
  }

  /** Another thread claims the reservation: the port is closed here, so that thread can bind it. */
  async release(token: Buffer): Promise<{ address: string; port: number } | undefined> {
    const relay = this.claim(token);
    if (!relay) return undefined;
    await new Promise<void>((resolve) => relay.socket.close(() => resolve()));
    return { address: relay.address, port: relay.port };
  }

  /** Binds exactly `address:port` (a reservation or an allocation that moved here from another thread). */
  bindExact(address: string, port: number): Promise<RelaySocket | undefined> {
    return bindRelay(address, port);
  }

  /** Releases reservations that were never claimed. */
  sweep(now: number): void {
    for (const [key, r] of this.reservations) {
      if (r.expiresAt <= now) {
        r.relay.socket.close();
        this.reservations.delete(key);
      }
    }
  }

  close(): void {
    for (const r of this.reservations.values()) r.relay.socket.close();
    this.reservations.clear();
  }
}

function bindRelay(address: string, port: number): Promise<RelaySocket | undefined> {
  const socket = createSocket({
    type: isIPv6(address) ? "udp6" : "udp4",
    ipv6Only: isIPv6(address),
    lookup: ipLiteralLookup,
  });
  return new Promise((resolve) => {
    socket.once("error", () => {
      socket.close();
      resolve(undefined);
    });
    socket.bind(port, address, () => {
      socket.removeAllListeners("error");
      socket.on("error", () => {});
      resolve({ socket, address, port });
    });
  });
}
