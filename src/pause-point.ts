/**
 * Crash tests kill a process at a chosen point, not wherever a timer happens to land: with
 * CLOSELOOP_PAUSE_AT=<name> the process says `paused at <name>` on stderr when it reaches that point and
 * waits there until it is killed. Without the variable (always, outside tests) this does nothing.
 *
 * Points: `apply:before-commit` (every ledger row of an apply written, the transaction not committed)
 * and `apply:after-commit` (committed, the command not finished).
 */
export async function pausePoint(name: string): Promise<void> {
  if (process.env.CLOSELOOP_PAUSE_AT !== name) return;
  process.stderr.write(`paused at ${name} (CLOSELOOP_PAUSE_AT)\n`);
  // A pending promise alone would let Node exit; the timer keeps the process waiting for its kill.
  await new Promise(() => setInterval(() => {}, 3_600_000));
}
