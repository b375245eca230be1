/** One client's connection to the server: a UDP 5-tuple or a TCP/TLS connection. */
export interface ClientLink {
  readonly transport: "udp" | "tcp" | "tls";
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** Identifies the 5-tuple; allocations are keyed by it (RFC 8656 §2.2). */
  readonly key: string;
  /** True for TCP/TLS, where ChannelData is padded to 4 bytes. */
  readonly stream: boolean;
  send(data: Buffer): void;
  /** Closes a TCP/TLS connection; a no-op for UDP. */
  close(): void;
  /** TCP/TLS only: turn this connection into a raw pipe to a peer connection (RFC 6062 ConnectionBind). */
  pipeTo?: (peer: import("node:net").Socket) => void;
  /** TCP/TLS only: the same, to a peer connection held by another relay thread (bytes cross on `port`). */
  bridge?: (port: import("node:worker_threads").MessagePort) => void;
}
