import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';

/**
 * Failed sign-ins allowed per client address within the window; then the form answers 429 until the
 * oldest failure leaves the window. API keys are 32 random bytes and cannot be guessed, but the admin
 * password is typed by a person: this keeps guessing it to a handful of tries per quarter hour.
 */
export const signInLimit = { failures: 10, windowMs: 15 * 60_000 };

/** Addresses remembered at most (a flood of addresses forgets the oldest first, never blocks more). */
const maxAddresses = 10_000;

/** The connection's remote address (behind a reverse proxy: the proxy's, so its users share one limit). */
export function clientAddress(c: Context): string {
  const env = c.env as { incoming?: IncomingMessage } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? 'local';
}

/** Failed sign-ins per address, in this process's memory. */
export function createSignInLimiter(now: () => number, limit = signInLimit) {
  const failures = new Map<string, number[]>();
  const recent = (address: string, t: number) =>
    (failures.get(address) ?? []).filter((at) => t - at < limit.windowMs);
  return {
    /** Seconds until `address` may try again; 0 when it may now. */
    retryAfterSec(address: string): number {
      const t = now();
      const list = recent(address, t);
      if (list.length < limit.failures) return 0;
      return Math.max(1, Math.ceil((list[list.length - limit.failures]! + limit.windowMs - t) / 1000));
    },
    failed(address: string) {
      const t = now();
      const list = [...recent(address, t), t].slice(-limit.failures);
      failures.delete(address);
      if (failures.size >= maxAddresses) failures.delete(failures.keys().next().value!);
      failures.set(address, list);
    },
    succeeded(address: string) {
      failures.delete(address);
    },
  };
}
