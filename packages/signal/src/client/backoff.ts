export interface ReconnectOptions {
  /** First delay. Default 250 ms; doubles per attempt. */
  initialDelayMs?: number;
  /** Largest delay. Default 10 s. */
  maxDelayMs?: number;
  /** Attempts before giving up (the client then closes with CONNECT_FAILED). Default: never give up. */
  maxAttempts?: number;
}

/**
 * Exponential backoff with "equal jitter": half the delay fixed, half random, so a server restart is not met by every
 * client at the same instant, yet no client retries immediately. `undefined` means give up.
 */
export function backoffDelay(
  attempt: number,
  options: ReconnectOptions = {},
  random = Math.random,
): number | undefined {
  if (attempt >= (options.maxAttempts ?? Number.POSITIVE_INFINITY)) return undefined;
  const ceiling = Math.min(options.maxDelayMs ?? 10_000, (options.initialDelayMs ?? 250) * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
