import WebSocket from "ws";

export interface RawSocket {
  ws: WebSocket;
  /** The next message from the server (waits for it). */
  next(): Promise<Record<string, unknown>>;
  /** Messages received and not yet taken by next(). */
  inbox: Record<string, unknown>[];
  send(message: unknown): void;
  closed: Promise<number>;
}

/** A bare WebSocket speaking JSON, to send what no well-behaved client would. */
export async function rawSocket(url: string, options: WebSocket.ClientOptions = {}): Promise<RawSocket> {
  const ws = new WebSocket(url, options);
  const inbox: Record<string, unknown>[] = [];
  const waiters: Array<(m: Record<string, unknown>) => void> = [];
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data)) as Record<string, unknown>;
    const waiter = waiters.shift();
    if (waiter) waiter(msg);
    else inbox.push(msg);
  });
  const closed = new Promise<number>((resolve) => ws.once("close", resolve));
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  return {
    ws,
    inbox,
    closed,
    send: (message) =>
      ws.send(typeof message === "string" || Buffer.isBuffer(message) ? message : JSON.stringify(message)),
    next: () =>
      new Promise((resolve) => {
        const queued = inbox.shift();
        if (queued) resolve(queued);
        else waiters.push(resolve);
      }),
  };
}

/** A raw socket that has said hello; resolves with its welcome too. */
export async function greetedSocket(
  url: string,
  token?: string,
): Promise<RawSocket & { welcome: Record<string, unknown> }> {
  const raw = await rawSocket(url);
  raw.send({ type: "hello", id: "h", version: 1, ...(token ? { token } : {}) });
  const welcome = await raw.next();
  if (welcome.type !== "welcome") throw new Error(`expected welcome, got ${JSON.stringify(welcome)}`);
  return Object.assign(raw, { welcome });
}
