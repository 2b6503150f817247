import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { AppError } from '../../src/errors.ts';
import { resumeAccount } from '../../src/services/account-resume.ts';
import { throttledReason } from '../../src/submit/answer.ts';
import { pauseAccount, pauseOf, reserveSlot } from '../../src/submit/schedule.ts';
import type { SubmitAccount } from '../../src/submit/submitter.ts';
import { testClock, testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { addAccount } from '../helpers/submit.ts';

/*
 * `closeloop accounts resume`: the user fixed what paused the account and lifts the pause at once,
 * instead of waiting out its 15 minutes. A throttling pause is Microsoft's to end, unless forced.
 */

const clock = testClock('2026-06-15T12:00:00Z');
let database: Database;
let account: SubmitAccount;
const ctx = () => testContext(database, clock.now);
const refused = '1102 CampaignServiceInvalidAccountId: Invalid account id';

beforeAll(async () => {
  database = await createTestDatabase();
  account = await addAccount(database, { name: 'Main', msAccountId: '123' });
  await database.query(sql`update accounts set target = 'microsoft' where id = ${account.id}::uuid`);
});
afterAll(() => database?.close());
beforeEach(async () => {
  clock.set('2026-06-15T12:00:00Z');
  await database.query(
    sql`update accounts set paused_until = null, pause_reason = null, next_call_at = null`,
  );
});

const pause = (ms: number, reason: string) =>
  pauseAccount(database, {
    accountId: account.id,
    until: new Date(clock.now().getTime() + ms),
    reason,
    now: clock.now(),
  });

describe('resumeAccount', () => {
  it('lifts an account-error pause by either id, and the next call starts at once', async () => {
    await pause(15 * 60_000, refused);
    // A call that was waiting for a slot when the pause came took one past the pause's end.
    const pushed = await reserveSlot(database, {
      accountId: account.id,
      callsPerMinute: 60,
      now: clock.now(),
    });
    expect(pushed.getTime()).toBe(clock.now().getTime() + 15 * 60_000);
    clock.advance(60_000);

    const view = await resumeAccount({ ctx: ctx(), idOrRef: '123' });
    expect(view).toMatchObject({ id: account.id, resumed: true, pausedUntil: null, pauseReason: null });
    expect(view.message).toBe(
      `Account "Main" (Microsoft 123) resumed: its queued rows are sent on the next pass (the pause was: ${refused}).`,
    );
    expect(await pauseOf(database, account.id)).toBeNull();
    // The slots taken during the pause moved back with it: the next call is not kept waiting 14 minutes.
    const next = await reserveSlot(database, { accountId: account.id, callsPerMinute: 60, now: clock.now() });
    expect(next.getTime()).toBeLessThanOrEqual(clock.now().getTime() + 60 * 1000 * 1.02);

    const again = await resumeAccount({ ctx: ctx(), idOrRef: account.id });
    expect(again).toMatchObject({
      resumed: false,
      message: 'Account "Main" (Microsoft 123) was not paused.',
    });
  });

  it('leaves a throttling pause to Microsoft unless forced, and says when it ends', async () => {
    const reason = `${throttledReason} (117); calls resume at 2026-06-15T12:01:00.000Z`;
    await pause(60_000, reason);
    const refusal = await resumeAccount({ ctx: ctx(), idOrRef: account.id }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal).toMatchObject({ code: 'conflict' });
    expect((refusal as AppError).message).toBe(
      'Account "Main" (Microsoft 123) was not resumed: Microsoft throttled it and asked closeloop to wait; the pause ends by itself at 2026-06-15T12:01:00.000Z (in 60 s). Calling earlier is likely to be throttled again. To lift it anyway, resume with --force (API: {"force": true}).',
    );
    expect(await pauseOf(database, account.id)).toEqual({ until: new Date('2026-06-15T12:01:00Z'), reason });

    const forced = await resumeAccount({ ctx: ctx(), idOrRef: account.id, force: true });
    expect(forced).toMatchObject({ resumed: true, pausedUntil: null });
    expect(forced.message).toContain(`(the pause was: ${reason})`);
    expect(await pauseOf(database, account.id)).toBeNull();
  });

  it('says an expired pause is no pause, and names an unknown account as the other lookups do', async () => {
    await pause(60_000, refused);
    clock.advance(60_000);
    expect(await resumeAccount({ ctx: ctx(), idOrRef: account.id })).toMatchObject({ resumed: false });

    for (const id of ['999', 'nope'])
      await expect(resumeAccount({ ctx: ctx(), idOrRef: id })).rejects.toMatchObject({
        code: 'not_found',
        message: `No account "${id}" (give closeloop's account id or Microsoft's account id). List accounts with \`closeloop accounts list\` or GET /api/v1/accounts.`,
      });
  });
});
