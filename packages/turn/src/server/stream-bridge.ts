import type { Socket } from "node:net";
import type { MessagePort } from "node:worker_threads";

type BridgeMessage = { data: Uint8Array } | { pause: true } | { resume: true };

/**
 * One end of an RFC 6062 data connection whose two TCP sockets live in different relay threads: the client's data
 * connection reached one thread (the kernel spreads connections over reusePort listeners), the peer connection is
 * held by the thread that owns the allocation. Bytes cross on a MessagePort; when a socket cannot keep up, the
 * other end is paused until it drains, so neither thread buffers without bound. Either socket closing closes both.
 */
export function bridgeSocket(socket: Socket, port: MessagePort, early: Buffer[] = []): void {
  for (const chunk of early) if (chunk.length) port.postMessage({ data: chunk } satisfies BridgeMessage);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    port.close();
    socket.destroy();
  };
  socket.on("data", (chunk: Buffer) => port.postMessage({ data: chunk } satisfies BridgeMessage));
  socket.on("drain", () => port.postMessage({ resume: true } satisfies BridgeMessage));
  socket.on("error", () => {});
  socket.once("close", close);
  port.on("message", (message: BridgeMessage) => {
    if ("data" in message) {
      const chunk = Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength);
      if (!socket.write(chunk)) port.postMessage({ pause: true } satisfies BridgeMessage);
    } else if ("pause" in message) socket.pause();
    else socket.resume();
  });
  // The other thread's socket closed (or that thread exited): this one goes too.
  port.once("close", close);
  socket.resume();
}
