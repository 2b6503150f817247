/**
 * How a pause's reason tells throttling from an error, in a module of its own: the CLI's account table
 * reads it without loading the database stack (`closeloop help` stays fast, test/cli/lazy-load.test.ts).
 */

/** How a throttling pause's reason starts: such a pause ends by itself and needs no fixing. */
export const throttledReason = 'Microsoft throttled the account';

export const isThrottlePause = (reason: string | null | undefined) =>
  reason?.startsWith(throttledReason) === true;

/**
 * The command that lifts an account's pause once its cause is fixed; null for a throttling pause, which
 * ends by itself (CLI tables, `closeloop status` and the status summary all say it this way).
 */
export const resumeCommand = (a: { pauseReason: string | null; msAccountId: string }): string | null =>
  isThrottlePause(a.pauseReason) ? null : `closeloop accounts resume --account ${a.msAccountId}`;
