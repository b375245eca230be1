import type { Socket } from "node:net";
import type { MessagePort } from "node:worker_threads";
import { isChannelData } from "../stun/channel-data.js";
import { StunMethod } from "../stun/constants.js";
import { StreamFramer } from "../transport/stream-framer.js";
import type { ClientLink } from "./client-link.js";
import { bridgeSocket } from "./stream-bridge.js";

/** Peer bytes held for a data connection that has sent ConnectionBind but not yet been answered. */
const MAX_PENDING_RAW = 64 * 1024;

export interface StreamHost {
  readonly counters: { packetsIn: number; dropped: number; streamsTimedOut: number };
  /** Largest amount of unsent data before the connection is closed (a client that does not read). */
  readonly maxBacklog: number;
  readonly setupTimeoutMs: number;
  channelData(link: ClientLink, frame: Buffer): void;
  stun(frame: Buffer, link: ClientLink): void;
  /** Whether this connection now carries an allocation (else it is closed when setupTimeoutMs runs out). */
  carriesAllocation(link: ClientLink): boolean;
  /** The connection closed (RFC 8656 §3.1: its allocation goes with it). */
  closed(link: ClientLink): void;
}

/**
 * A TCP or TLS client connection: STUN and ChannelData frames until, with RFC 6062's ConnectionBind, it becomes a
 * raw pipe to a peer connection — in this thread (`pipeTo`) or in another relay thread (`bridge`).
 */
export function openStreamLink(socket: Socket, transport: "tcp" | "tls", host: StreamHost): ClientLink {
  // One STUN message per TLS record. Node's TLS socket merges writes queued in one turn into one record (its
  // writev), and clients that take one record for one message — coturn's turnutils_uclient among them — then lose
  // the second message: a Connect success and a ConnectionAttempt sent together left 20 of 90 RFC 6062 data
  // connections unbound and stalled the run for 40 s. Without writev each write is its own record, as coturn sends.
  if (transport === "tls") (socket as unknown as { _writev: null })._writev = null;
  const framer = new StreamFramer();
  let raw: "no" | "binding" | "piped" = "no";
  let pendingRaw: Buffer[] = [];
  let pendingRawBytes = 0;
  /** Bytes that arrived after ConnectionBind, before the peer side was ready: they go first. */
  const takeEarly = () => {
    raw = "piped";
    const early = [framer.drain(), ...pendingRaw];
    pendingRaw = [];
    return early;
  };
  const link: ClientLink = {
    transport,
    remoteAddress: socket.remoteAddress ?? "",
    remotePort: socket.remotePort ?? 0,
    localAddress: socket.localAddress ?? "",
    localPort: socket.localPort ?? 0,
    key: `${transport}|${socket.remoteAddress}|${socket.remotePort}|${socket.localPort}`,
    stream: true,
    send: (buf) => {
      // A client that does not read must not make the server buffer without bound.
      if (socket.writableLength > host.maxBacklog) socket.destroy();
      else socket.write(buf);
    },
    close: () => socket.destroy(),
    pipeTo: (peer: Socket) => {
      for (const chunk of takeEarly()) if (chunk.length) peer.write(chunk);
      socket.pipe(peer);
      peer.pipe(socket);
      peer.resume();
      socket.once("close", () => peer.destroy());
      peer.once("close", () => socket.destroy());
    },
    bridge: (port: MessagePort) => {
      socket.removeAllListeners("data");
      bridgeSocket(socket, port, takeEarly());
    },
  };
  socket.on("data", (chunk) => {
    if (raw === "piped") return; // pipe() has taken over
    if (raw === "binding") {
      pendingRawBytes += chunk.length;
      if (pendingRawBytes > MAX_PENDING_RAW) socket.destroy();
      else pendingRaw.push(chunk);
      return;
    }
    const ok = framer.push(chunk, (frame) => {
      host.counters.packetsIn++;
      if (isChannelData(frame)) {
        host.channelData(link, frame);
        return undefined;
      }
      // 0x000b ConnectionBind request: everything after it on this connection is peer data.
      const isBind = frame.length >= 2 && frame.readUInt16BE(0) === StunMethod.ConnectionBind;
      if (isBind) raw = "binding";
      host.stun(frame, link);
      return isBind ? "stop" : undefined;
    });
    if (!ok) {
      host.counters.dropped++;
      socket.destroy();
    }
  });
  // Closed unless, by then, it carries an allocation or has become an RFC 6062 data connection.
  const setupTimer = setTimeout(() => {
    if (raw !== "no" || host.carriesAllocation(link)) return;
    host.counters.streamsTimedOut++;
    socket.destroy();
  }, host.setupTimeoutMs);
  setupTimer.unref();
  socket.on("error", () => {});
  socket.on("close", () => {
    clearTimeout(setupTimer);
    host.closed(link);
  });
  return link;
}
