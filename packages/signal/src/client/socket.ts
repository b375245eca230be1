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

/**
 * Opens a socket with the given implementation, else the global WebSocket (browsers, Node 22+), else `ws` (Node 20).
 * `ws` is imported lazily and only there, so the browser bundle carries no Node code (its package.json maps `ws` to
 * nothing for bundlers).
 */
export async function openSocket(url: string, Impl?: WebSocketConstructor): Promise<Socket> {
  const Ctor = Impl ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (Ctor) return new Ctor(url) as Socket;
  const { WebSocket } = await import("ws");
  return new WebSocket(url) as unknown as Socket;
}
