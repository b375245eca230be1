import { PeerError } from "./errors.js";

/** An integer option from `min` to `max`, or `fallback` when absent; anything else throws INVALID_OPTION naming it. */
export function integerOption(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    invalidOption(name, value, `an integer from ${min} to ${max}`);
  }
  return value as number;
}

/** One of a fixed set of values, or `fallback` when absent. */
export function choiceOption<T>(name: string, value: unknown, fallback: T, allowed: readonly T[]): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) invalidOption(name, value, `one of ${allowed.join(", ")}`);
  return value as T;
}

export function invalidOption(name: string, value: unknown, expected: string): never {
  const shown = typeof value === "string" ? `"${value}"` : String(value);
  throw new PeerError("INVALID_OPTION", `${name} must be ${expected}, got ${shown}`);
}
