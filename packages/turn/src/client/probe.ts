import { TurnError } from "../errors.js";
import { TurnClient } from "./client.js";

export interface ProbeOptions {
  url: string;
  username: string;
  password: string;
  /** Accept a self-signed certificate for turns: URLs. */
  insecure?: boolean;
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** Parses turn:HOST:PORT?transport=udp|tcp and turns:HOST:PORT (RFC 7065). */
export function parseTurnUrl(url: string): { host: string; port: number; transport: "udp" | "tcp" | "tls" } {
  const m = /^(turns?):(\[[0-9a-fA-F:.]+\]|[^:?[\]]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/.exec(url);
  if (!m) throw new TurnError("INVALID_OPTION", `"${url}" is not a turn: or turns: URL (turn:host:port?transport=udp)`);
  const secure = m[1] === "turns";
  const host = m[2]!.replace(/^\[|\]$/g, "");
  const port = m[3] ? Number(m[3]) : secure ? 5349 : 3478;
  if (port < 1 || port > 65535) throw new TurnError("INVALID_OPTION", `"${url}": port ${port} is out of range`);
  return { host, port, transport: secure ? "tls" : ((m[4] as "udp" | "tcp" | undefined) ?? "udp") };
}

/**
 * Checks a TURN server step by step, as an operator would by hand: reach it, get a reflexive address, authenticate,
 * allocate twice, and relay a message each way between the two allocations (so no outside peer is needed). Each
 * step prints ✓ or ✗ with what went wrong and what usually causes it. Resolves true when every step passed.
 */
export async function probe(options: ProbeOptions): Promise<boolean> {
  const log = options.log ?? ((line: string) => console.log(line));
  const target = parseTurnUrl(options.url);
  const connect = () =>
    TurnClient.connect({
      ...target,
      username: options.username,
      password: options.password,
      timeoutMs: options.timeoutMs ?? 5000,
      tls: { rejectUnauthorized: !options.insecure },
    });
  const clients: TurnClient[] = [];
  const step = async <T>(name: string, hint: string, run: () => Promise<T>): Promise<T> => {
    try {
      const result = await run();
      log(`✓ ${name}${typeof result === "string" ? `: ${result}` : ""}`);
      return result;
    } catch (err) {
      log(`✗ ${name}: ${(err as Error).message}`);
      log(`  hint: ${hint}`);
      throw err;
    }
  };
  try {
    const a = await step(
      `connect to ${target.transport}://${target.host}:${target.port}`,
      "is the server running, and is this port open for this transport?",
      async () => {
        const c = await connect();
        clients.push(c);
        return c;
      },
    );
    await step("STUN Binding", "the server does not answer STUN; check the port and any firewall", async () => {
      const mapped = await a.binding();
      return `reflexive address ${mapped.address}:${mapped.port}`;
    });
    const ra = await step(
      "authenticated Allocate",
      "401: wrong user/password or realm; 438: clock or nonce trouble; 486: quota",
      async () => {
        const { relayed, lifetime } = await a.allocate();
        return `relayed ${relayed.address}:${relayed.port}, lifetime ${lifetime} s`;
      },
    ).then(() => a.relayed!);
    const b = await step(
      "second allocation (the echo side)",
      "quota (486) or relay port range exhausted (508)",
      async () => {
        const c = await connect();
        clients.push(c);
        await c.allocate();
        return c;
      },
    );
    const rb = b.relayed!;
    await step(
      "CreatePermission both ways",
      "403: the server's peer policy refuses its own relay addresses (e.g. loopback without --allow-loopback-peers)",
      async () => {
        await a.createPermission(rb.address);
        await b.createPermission(ra.address);
        return `${ra.address} <-> ${rb.address}`;
      },
    );
    await step(
      "relay a message each way (Send indications)",
      "data is dropped: check --max-bps, relay IP reachability and -X external-ip",
      async () => {
        await roundTrip(a, b, ra, rb, options.timeoutMs ?? 5000);
        return "ok";
      },
    );
    await step("ChannelBind and relay over the channel", "channel refused (400) or data lost", async () => {
      await a.bindChannel(rb);
      await b.bindChannel(ra);
      await roundTrip(a, b, ra, rb, options.timeoutMs ?? 5000);
      return "ok";
    });
    await step("Refresh with lifetime 0 (clean up)", "the allocation could not be deleted", async () => {
      await a.refresh(0);
      await b.refresh(0);
      return "allocations deleted";
    });
    log("TURN server works");
    return true;
  } catch {
    log("TURN server check FAILED");
    return false;
  } finally {
    for (const c of clients) c.close();
  }
}

async function roundTrip(
  a: TurnClient,
  b: TurnClient,
  ra: { address: string; port: number },
  rb: { address: string; port: number },
  timeoutMs: number,
): Promise<void> {
  const receive = (c: TurnClient, expected: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`"${expected}" did not arrive in ${timeoutMs} ms`)), timeoutMs);
      const onData = (data: Buffer) => {
        if (data.toString() !== expected) return;
        clearTimeout(timer);
        c.off("data", onData);
        resolve();
      };
      c.on("data", onData);
    });
  const atB = receive(b, "parley probe a->b");
  a.send(rb, Buffer.from("parley probe a->b"));
  await atB;
  const atA = receive(a, "parley probe b->a");
  b.send(ra, Buffer.from("parley probe b->a"));
  await atA;
}
