import { createSocket, type RemoteInfo, type Socket, type SocketOptions } from "node:dgram";
import { isIPv6 } from "node:net";
import { TurnError } from "../errors.js";
import { ipLiteralLookup } from "./ip-lookup.js";

export interface UdpEndpoint {
  readonly socket: Socket;
  readonly address: string;
  readonly port: number;
}

/** Binds one UDP socket; resolves once bound, rejects with LISTEN_FAILED (address in use, bad address, …). */
export function bindUdp(
  address: string,
  port: number,
  onPacket: (data: Buffer, from: RemoteInfo, via: UdpEndpoint) => void,
  /** SO_REUSEPORT (Node ≥ 22.12): several relay threads bind one port and the kernel keeps each 5-tuple on one. */
  reusePort = false,
): Promise<UdpEndpoint> {
  // reusePort is in Node 22.12's dgram but not in @types/node 20, hence the widened type.
  const socket = createSocket({
    type: isIPv6(address) ? "udp6" : "udp4",
    ipv6Only: isIPv6(address),
    lookup: ipLiteralLookup,
    ...(reusePort ? { reusePort: true } : {}),
  } as SocketOptions);
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      socket.close();
      reject(new TurnError("LISTEN_FAILED", `cannot listen on udp ${address}:${port}: ${err.message}`));
    };
    socket.once("error", onError);
    socket.bind(port, address, () => {
      socket.off("error", onError);
      // After binding, a send error (ICMP unreachable surfaced on some platforms) must not kill the server.
      socket.on("error", () => {});
      const endpoint = { socket, address, port: socket.address().port };
      socket.on("message", (data, from) => onPacket(data, from, endpoint));
      resolve(endpoint);
    });
  });
}
