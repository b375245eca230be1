import { EventEmitter } from "eventemitter3";
import * as v from "valibot";
import { SignalError, SignalErrorCode } from "../protocol/errors.js";
import { describeIssues, PROTOCOL_VERSION, ServerMessageSchema, type Welcome } from "../protocol/messages.js";

export interface SignalClientOptions {
  token?: string;
  /** How long a request waits for its answer. Default 10 s. */
  requestTimeoutMs?: number;
  /** Protocol version to announce; only tests of version negotiation change it. */
  version?: number;
}

export interface SignalClientEvents {
  welcome: (welcome: Welcome) => void;
  error: (err: SignalError) => void;
  close: (code: number, reason: string) => void;
}

type Socket = {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (ev: { data?: unknown; code?: number; reason?: string }) => void): void;
};

async function openSocket(url: string): Promise<Socket> {
  // Browsers (and Node 22+) have a global WebSocket; Node 20 gets `ws`, loaded only there so bundles stay Node-free.
  const Global = (globalThis as { WebSocket?: new (url: string) => Socket }).WebSocket;
  if (Global) return new Global(url);
  const { WebSocket } = await import("ws");
  return new WebSocket(url) as unknown as Socket;
}

/** One signalling connection. This foundation connects and says hello; rooms arrive with issue #4. */
export class SignalClient extends EventEmitter<SignalClientEvents> {
  private socket: Socket | undefined;
  private welcomeMessage: Welcome | undefined;
  private nextId = 1;
  private readonly pending = new Map<
    string,
    { resolve: (msg: Welcome) => void; reject: (err: SignalError) => void; timer: ReturnType<typeof setTimeout> }
  >();

  private constructor(private readonly options: SignalClientOptions) {
    super();
  }

  /** Opens the socket and completes the hello/welcome exchange. */
  static async connect(url: string, options: SignalClientOptions = {}): Promise<SignalClient> {
    const client = new SignalClient(options);
    await client.open(url);
    return client;
  }

  private async open(url: string): Promise<void> {
    const socket = await openSocket(url);
    this.socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve());
      socket.addEventListener("error", () =>
        reject(new SignalError(SignalErrorCode.ConnectFailed, `cannot open WebSocket to ${url}`)),
      );
    });
    socket.addEventListener("message", (ev) => this.onMessage(String(ev.data)));
    socket.addEventListener("close", (ev) => {
      for (const [, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(new SignalError(SignalErrorCode.Closed, `connection closed (${ev.code ?? 0}) before an answer`));
      }
      this.pending.clear();
      this.emit("close", ev.code ?? 0, ev.reason ?? "");
    });
    const welcome = await this.request({
      type: "hello",
      version: this.options.version ?? PROTOCOL_VERSION,
      ...(this.options.token ? { token: this.options.token } : {}),
    });
    this.welcomeMessage = welcome;
    this.emit("welcome", welcome);
  }

  /** The server's welcome: session id, protocol version and limits. */
  get welcome(): Welcome {
    if (!this.welcomeMessage) throw new SignalError(SignalErrorCode.Closed, "not connected yet");
    return this.welcomeMessage;
  }

  /** Closes the connection. Safe to call twice. */
  close(): void {
    this.socket?.close(1000, "client closed");
  }

  private request(body: Record<string, unknown>): Promise<Welcome> {
    const id = String(this.nextId++);
    const timeoutMs = this.options.requestTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new SignalError(SignalErrorCode.Timeout, `no answer to ${String(body.type)} within ${timeoutMs} ms`, id),
        );
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.socket?.send(JSON.stringify({ ...body, id }));
    });
  }

  private onMessage(text: string): void {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.emit("error", new SignalError(SignalErrorCode.BadJson, "server sent a frame that is not JSON"));
      return;
    }
    const parsed = v.safeParse(ServerMessageSchema, json);
    if (!parsed.success) {
      this.emit("error", new SignalError(SignalErrorCode.BadMessage, `server sent ${describeIssues(parsed.issues)}`));
      return;
    }
    const msg = parsed.output;
    const pending = msg.re ? this.pending.get(msg.re) : undefined;
    if (msg.re) this.pending.delete(msg.re);
    if (pending) clearTimeout(pending.timer);
    if (msg.type === "error") {
      const err = new SignalError(msg.code as SignalErrorCode, msg.message, msg.re);
      if (pending) pending.reject(err);
      else this.emit("error", err);
      return;
    }
    pending?.resolve(msg);
  }
}
