import type { MessagePort, Transferable, Worker } from "node:worker_threads";
import { TurnError } from "../errors.js";

/** A handler's answer, with what must be transferred (MessagePorts) rather than copied. */
export class Transfer<T> {
  constructor(
    readonly value: T,
    readonly list: Transferable[],
  ) {}
}

type Handler = (args: never) => unknown;
type Message =
  | { rpc: "call"; id: number; method: string; args: unknown }
  | { rpc: "reply"; id: number; ok: boolean; value: unknown }
  | { rpc: "notify"; method: string; args: unknown };

/**
 * Requests and notifications between a TurnServer and its relay threads over one port. Calls that are never
 * answered (the other side exited) are rejected by `failAll`, so nothing waits forever.
 */
export class Rpc {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly port: MessagePort | Worker,
    private readonly handlers: Record<string, Handler>,
  ) {
    port.on("message", (message: Message) => this.receive(message));
  }

  call<T>(method: string, args: unknown, transfer: Transferable[] = []): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.port.postMessage({ rpc: "call", id, method, args } satisfies Message, transfer);
    });
  }

  notify(method: string, args: unknown): void {
    this.port.postMessage({ rpc: "notify", method, args } satisfies Message);
  }

  failAll(reason: string): void {
    for (const { reject } of this.pending.values()) reject(new TurnError("CLOSED", reason));
    this.pending.clear();
  }

  private receive(message: Message): void {
    if (message?.rpc === "reply") {
      const waiting = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (!waiting) return;
      if (message.ok) waiting.resolve(message.value);
      else waiting.reject(new TurnError("CLOSED", String(message.value)));
      return;
    }
    if (message?.rpc !== "call" && message?.rpc !== "notify") return;
    const handler = this.handlers[message.method];
    const run = async () => {
      if (!handler) throw new Error(`no handler for ${message.method}`);
      return handler(message.args as never);
    };
    run().then(
      (value) => {
        if (message.rpc !== "call") return;
        const transfer = value instanceof Transfer ? value : undefined;
        const reply: Message = { rpc: "reply", id: message.id, ok: true, value: transfer ? transfer.value : value };
        this.port.postMessage(reply, transfer?.list ?? []);
      },
      (err: unknown) => {
        if (message.rpc !== "call") return;
        this.port.postMessage({ rpc: "reply", id: message.id, ok: false, value: String(err) } satisfies Message);
      },
    );
  }
}
