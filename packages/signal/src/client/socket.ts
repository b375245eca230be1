/** The part of the WebSocket API the client uses; browsers' WebSocket, Node 22+'s global one and `ws` all have it. */
export interface Socket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string) => unknown;

/** Why opening failed: an error event, or a close before open (with its code). */
export type OpenFailure = { kind: "error" } | { kind: "close"; code: number };

/**
 * Opens a socket with the given implementation, else the global WebSocket (browsers, Node 22+), else `ws` (Node 20),
 * and resolves once it is open. `ws` is imported lazily and only there, so the browser bundle carries no Node code
 * (its package.json maps `ws` to nothing for bundlers).
 *
 * The open/error/close handlers are attached in the same turn as the constructor: a WebSocket may fail within the
 * microtasks that follow it (undici, Node 22+'s global one, refuses the Fetch standard's "bad ports" such as 1 that
 * way), and a handler attached after an `await` would miss that event and wait forever.
 */
export async function openSocket(
  url: string,
  Impl: WebSocketConstructor | undefined,
  /** Called with the socket as soon as it exists, so that its owner can close it while it is still connecting. */
  created: (socket: Socket) => void,
): Promise<Socket> {
  const Ctor = Impl ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ?? (await import("ws")).WebSocket;
  const socket = new (Ctor as WebSocketConstructor)(url) as Socket;
  created(socket);
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject({ kind: "error" } satisfies OpenFailure);
    socket.onclose = (ev) => reject({ kind: "close", code: ev.code } satisfies OpenFailure);
  });
  return socket;
}
