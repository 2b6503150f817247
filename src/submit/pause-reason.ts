/**
 * How a pause's reason tells throttling from an error, in a module of its own: the CLI's account table
 * reads it without loading the database stack (`closeloop help` stays fast, test/cli/lazy-load.test.ts).
 */

/** How a throttling pause's reason starts: such a pause ends by itself and needs no fixing. */
export const throttledReason = 'Microsoft throttled the account';

export const isThrottlePause = (reason: string | null | undefined) =>
  reason?.startsWith(throttledReason) === true;
