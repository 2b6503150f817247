import { eq } from 'drizzle-orm';
import { queryVia } from '../db/client.ts';
import { type Account, accounts } from '../db/schema/index.ts';
import { AppError } from '../errors.ts';
import { isThrottlePause } from '../submit/pause-reason.ts';
import { liftPause } from '../submit/schedule.ts';
import { type AccountView, accountView, getAccount } from './accounts.ts';
import type { ServiceContext } from './context.ts';

/** The account after `resume`, with what was done in one sentence (the CLI prints it, the dashboard shows it). */
export interface ResumedAccountView extends AccountView {
  /** False: the account was not paused, nothing changed. */
  resumed: boolean;
  message: string;
}

/** `Account "Main" (Microsoft 123)`: how the messages name an account. */
export function accountLabel(a: Pick<Account, 'name' | 'target' | 'msAccountId'>): string {
  return `Account "${a.name}" (${a.target === 'emulator' ? 'dry run' : `Microsoft ${a.msAccountId}`})`;
}

/**
 * Lift an account's pause now, for a user who has fixed its cause (signed in again, corrected
 * MSADS_API_BASE_URL): without this, an account error keeps the account paused its full 15 minutes.
 * Every submitter reads the pause from the account row before each call, so the next pass sends.
 *
 * A throttling pause (117, 429) is Microsoft asking to wait; nothing on this side fixes it, and calling
 * early only earns another one. It is lifted only with `force`; otherwise a conflict says when it ends.
 */
export async function resumeAccount({
  ctx,
  idOrRef,
  force = false,
}: {
  ctx: ServiceContext;
  /** closeloop's account id or Microsoft's. */
  idOrRef: string;
  force?: boolean;
}): Promise<ResumedAccountView> {
  const found = await getAccount({ ctx, id: idOrRef });
  return ctx.database.db.transaction(async (tx) => {
    // Locked, so a pause set meanwhile by a call is either lifted with it or judged here, not lost.
    const [account] = await tx.select().from(accounts).where(eq(accounts.id, found.id)).for('update');
    if (!account) throw new Error(`account ${found.id} vanished`);
    const now = ctx.now();
    const label = accountLabel(account);
    if (account.pausedUntil === null || account.pausedUntil <= now)
      return { ...accountView(account), resumed: false, message: `${label} was not paused.` };
    if (isThrottlePause(account.pauseReason) && !force) {
      const seconds = Math.ceil((account.pausedUntil.getTime() - now.getTime()) / 1000);
      throw new AppError(
        'conflict',
        `${label} was not resumed: Microsoft throttled it and asked closeloop to wait; the pause ends by itself at ${account.pausedUntil.toISOString()} (in ${seconds} s). Calling earlier is likely to be throttled again. To lift it anyway, resume with --force (API: {"force": true}).`,
      );
    }
    await liftPause({ query: queryVia(tx) }, { accountId: account.id, now });
    const [row] = await tx.select().from(accounts).where(eq(accounts.id, account.id));
    return {
      ...accountView(row!),
      resumed: true,
      message: `${label} resumed: its queued rows are sent on the next pass (the pause was: ${account.pauseReason ?? 'no reason recorded'}).`,
    };
  });
}
