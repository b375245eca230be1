import type { EventEmitter } from "eventemitter3";

/** Resolves with the arguments of the next `event` (rejects after `timeoutMs`, naming the event). */
export function nextEvent<T extends unknown[]>(
  emitter: EventEmitter,
  event: string,
  timeoutMs = 5000,
  filter: (...args: T) => boolean = () => true,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no "${event}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (...args: T) => {
      if (!filter(...args)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    emitter.on(event, listener);
  });
}

/** Polls `check` until it returns true (for counts that arrive over time). */
export async function until(check: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
