import { safeText } from '../log.ts';

/** What one drain did, counted as it goes (the CLI's progress line watches it fill). */
export interface DrainReport {
  calls: number;
  accepted: number;
  rejected: number;
  retried: number;
  failed: number;
  throttled: number;
  splits: number;
  held: number;
  released: number;
  expired: number;
  reclaimed: number;
  goalsCreated: number;
  skippedAccounts: string[];
  /** Accounts paused for an error that needs fixing (not throttling): until when, and why. */
  pauses: { account: string; until: string; reason: string }[];
  /** Goals Microsoft refused to create or change (tried again every 5 minutes); their rows wait. */
  goalErrors: { account: string; goal: string; error: string }[];
  /** Accounts whose run threw: the error, its causes, and the stack (for debug logs). */
  accountErrors: { account: string; error: string; stack?: string }[];
}

export const emptyReport = (): DrainReport => ({
  calls: 0,
  accepted: 0,
  rejected: 0,
  retried: 0,
  failed: 0,
  throttled: 0,
  splits: 0,
  held: 0,
  released: 0,
  expired: 0,
  reclaimed: 0,
  goalsCreated: 0,
  skippedAccounts: [],
  pauses: [],
  goalErrors: [],
  accountErrors: [],
});

/**
 * An error and its causes, on one line: "could not X: caused by Y: caused by Z". Made safe like a log
 * line (safeText): a failed statement's parameters (click IDs, hashed emails) are left out.
 */
export function errorChain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    parts.push(safeText(e instanceof Error ? e.message || e.name : String(e)));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(': caused by ');
}
