import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { createEmulator } from '../../src/msads/emulator/index.ts';
import { resumeAccount } from '../../src/services/account-resume.ts';
import { pauseAccount, reserveSlot } from '../../src/submit/schedule.ts';
import { accountErrorPauseMs, type SubmitAccount } from '../../src/submit/submitter.ts';
import { testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import {
  addAccount,
  addGoal,
  emulatorClient,
  queueConversions,
  resetSending,
  states,
  testSubmitter,
} from '../helpers/submit.ts';

/*
 * An account Microsoft refuses (its credentials, its ids) is paused for 15 minutes, for every process
 * (the pause is on the account row), and its rows wait without spending an attempt. The clock is the
 * test's: it stands still unless the test moves it.
 */

let database: Database;
let account: SubmitAccount;
let goalId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  account = await addAccount(database);
  goalId = await addGoal(database, { name: 'Deal' });
});
afterAll(() => database?.close());

describe('an account error', () => {
  it('pauses the account for 15 minutes, then its rows go', async () => {
    expect(accountErrorPauseMs).toBe(15 * 60_000);
    await queueConversions(database, { goalId, goalName: 'Deal', count: 5 });
    const emulator = createEmulator({ auth: 'open' });
    emulator.addGoal({ customerId: '1000', accountId: '2000', name: 'Deal', createdAt: new Date(0) });
    const t0 = new Date();
    let clock = t0;
    // One call at a time, so the refused call is the only one: a second one in flight may claim the
    // rows the first gave back before it sees the pause (one more refused call; the test counts them).
    const submitter = (client: ReturnType<typeof emulatorClient>) =>
      testSubmitter(database, [{ account, client }], { now: () => clock, config: { concurrency: 1 } });
    // Microsoft answers 1102 CampaignServiceInvalidAccountId to a CustomerAccountId it does not know.
    const refused = emulatorClient(emulator.fetch, { ...account, msAccountId: 'not-an-account' });
    const good = emulatorClient(emulator.fetch, account);

    const first = await submitter(refused).drain({ maxPauseWaitMs: 0 });
    expect(first.skippedAccounts).toEqual([account.name]);
    expect(emulator.stats().calls).toBe(1);
    expect(await states(database)).toEqual({ queued: 5 });
    const [row] = await database.query<{ attempts: number }>(
      sql`select max(attempts) as attempts from conversions`,
    );
    expect(Number(row?.attempts)).toBe(0);
    const [paused] = await database.query<{ until: number; reason: string }>(sql`
      select extract(epoch from paused_until) * 1000 as until, pause_reason as reason
        from accounts where id = ${account.id}::uuid`);
    expect(Number(paused?.until)).toBe(t0.getTime() + accountErrorPauseMs);
    expect(paused?.reason).toContain('1102');

    // A second before the end of the pause, no process calls, not even with the account fixed.
    clock = new Date(t0.getTime() + accountErrorPauseMs - 1000);
    const during = await submitter(good).drain({ maxPauseWaitMs: 0 });
    expect(during.calls).toBe(0);
    expect(during.skippedAccounts).toEqual([account.name]);
    expect(emulator.stats().calls).toBe(1);

    // At its end the rows go, and the successful call clears the pause.
    clock = new Date(t0.getTime() + accountErrorPauseMs);
    const after = await submitter(good).drain({ maxPauseWaitMs: 0 });
    expect(after.accepted).toBe(5);
    expect(await states(database)).toEqual({ accepted: 5 });
    const [cleared] = await database.query<{ until: unknown }>(
      sql`select paused_until as until from accounts where id = ${account.id}::uuid`,
    );
    expect(cleared?.until).toBeNull();
  });
});

describe('resuming a paused account', () => {
  it('a running submitter sends its rows within a few seconds, not at the end of the 15 minutes', async () => {
    const emulator = await resetSending(database, 'Deal');
    await queueConversions(database, { goalId, goalName: 'Deal', count: 5, salt: 'resume' });
    const at = new Date();
    await pauseAccount(database, {
      accountId: account.id,
      until: new Date(at.getTime() + accountErrorPauseMs),
      reason: '105 InvalidCredentials: Authentication failed.',
      now: at,
    });
    // A call waiting for its slot when the pause came took one past the pause's end.
    await reserveSlot(database, { accountId: account.id, callsPerMinute: 6000, now: at });

    const submitter = testSubmitter(
      database,
      [{ account, client: emulatorClient(emulator.fetch, account) }],
      {
        config: { pollMs: 50 },
      },
    );
    const stop = new AbortController();
    const running = submitter.run(stop.signal);
    try {
      // Several passes (50 ms apart) find the account paused and call nothing.
      await new Promise((r) => setTimeout(r, 500));
      expect(emulator.stats().calls).toBe(0);
      expect(await states(database)).toEqual({ queued: 5 });

      const resumed = await resumeAccount({
        ctx: testContext(database, () => new Date()),
        idOrRef: account.id,
      });
      expect(resumed.resumed).toBe(true);
      // Normally about 0.6 s; the bound leaves room for a loaded machine and still proves "not 15 minutes".
      const sentBy = Date.now() + 15_000;
      while ((await states(database)).accepted !== 5 && Date.now() < sentBy)
        await new Promise((r) => setTimeout(r, 50));
      expect(await states(database)).toEqual({ accepted: 5 });
      expect(emulator.stats().calls).toBe(1);
    } finally {
      stop.abort();
      await running;
    }
  });
});
