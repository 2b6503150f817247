import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { createMsadsClient } from '../../src/msads/client.ts';
import type { Emulator, FaultSpec } from '../../src/msads/emulator/index.ts';
import { listAccounts } from '../../src/services/accounts.ts';
import { retryFailedRows } from '../../src/services/submissions.ts';
import { accountErrorPauseMs } from '../../src/submit/answer.ts';
import { unprovenLoneRefusals } from '../../src/submit/split.ts';
import type { SubmitAccount } from '../../src/submit/submitter.ts';
import { testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import {
  addAccount,
  addGoal,
  queueConversions,
  resetSending,
  states,
  testSubmitter,
} from '../helpers/submit.ts';

/*
 * A call that fails as a whole — an answer that is not Microsoft's, an empty or cut-short 200, a code
 * closeloop does not know — never rejects the rows it carried: they stay queued, the account pauses (or
 * the rows are retried), and it costs one call, not the 2n-1 of splitting down to single rows. Only
 * Microsoft's signs that one item spoils its batch (113, 5601) split it. Over a real socket.
 */

let database: Database;
let emulator: Emulator;
let server: ServerType;
let url: string;
let account: SubmitAccount;
let goalId: string;
const goalName = 'Closed deal';

beforeAll(async () => {
  database = await createTestDatabase();
  account = await addAccount(database);
  goalId = await addGoal(database, { name: goalName });
  // One server for the file; each test swaps the emulator behind it.
  server = serve({ fetch: (r) => emulator.fetch(r), port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.close();
  await database?.close();
});

beforeEach(async () => {
  emulator = await resetSending(database, goalName);
});

const client = (baseUrl = url) =>
  createMsadsClient({
    baseUrl,
    developerToken: 'dev-token',
    customerId: '1000',
    accountId: account.msAccountId,
    tokens: { accessToken: async () => 'test-token' },
    timeoutMs: 2000,
  });

// Backoff of a minute: a row retried is not due again within the same drain, whatever the machine's load.
const submitter = (baseUrl = url, now?: () => Date) =>
  testSubmitter(database, [{ account, client: client(baseUrl) }], {
    config: { concurrency: 1, backoffBaseMs: 60_000, backoffCapMs: 60_000 },
    ...(now ? { now } : {}),
  });

const rows = () =>
  database.query<{ state: string; attempts: number; next_attempt_at: unknown; message: string | null }>(
    sql`select state, attempts, next_attempt_at, message from conversions order by id`,
  );

async function pause() {
  const [row] = await database.query<{ until: number | null; reason: string | null }>(
    sql`select extract(epoch from paused_until) * 1000 as until, pause_reason as reason from accounts
         where id = ${account.id}::uuid`,
  );
  return { until: row?.until == null ? null : Number(row.until), reason: row?.reason ?? null };
}

describe('a whole call that fails says nothing about its rows', () => {
  it('a wrong MSADS_API_BASE_URL (404): one call, the account pauses with the URL to fix, rows stay queued unspent', async () => {
    await queueConversions(database, { goalId, goalName, count: 8 });
    const before = Date.now();
    const report = await submitter(`${url}/wrong-prefix`).drain({ maxPauseWaitMs: 0 });
    expect(report.calls).toBe(1);
    expect(report.rejected).toBe(0);
    expect(await states(database)).toEqual({ queued: 8 });
    expect((await rows()).every((r) => r.attempts === 0)).toBe(true);
    const { until, reason } = await pause();
    expect(until! - before).toBeGreaterThanOrEqual(accountErrorPauseMs - 1000);
    expect(reason).toContain(
      `the API answered 404 application/json from ${url}/wrong-prefix/CampaignManagement`,
    );
    expect(reason).toContain('check MSADS_API_BASE_URL');
    expect(report.pauses).toEqual([{ account: account.name, until: expect.any(String), reason }]);
    // Shown where accounts are listed (the CLI's `accounts list` and GET /api/v1/accounts use this view).
    const [view] = await listAccounts({ ctx: testContext(database, () => new Date()) });
    expect(view?.pauseReason).toBe(reason);
    const [sub] = await database.query<{ outcome: string; error_code: string; http_status: number }>(
      sql`select outcome, error_code, http_status from submissions`,
    );
    expect(sub).toMatchObject({ outcome: 'account_error', error_code: 'HTTP 404', http_status: 404 });

    // A second run while paused makes no call; once fixed and the pause is over, all 8 go.
    expect((await submitter(`${url}/wrong-prefix`).drain({ maxPauseWaitMs: 0 })).calls).toBe(0);
    const later = () => new Date(Date.now() + accountErrorPauseMs + 60_000);
    const fixed = await submitter(url, later).drain({ maxPauseWaitMs: 0 });
    expect(fixed).toMatchObject({ calls: 1, accepted: 8 });
    expect(await pause()).toEqual({ until: null, reason: null });
  });

  it('a goal Microsoft cannot be asked to create is reported with the answer, every run, and its rows wait', async () => {
    const newGoal = await addGoal(database, { name: 'Not there yet', msadsGoalId: null });
    try {
      await queueConversions(database, { goalId: newGoal, goalName: 'Not there yet', count: 2 });
      for (let run = 0; run < 2; run++) {
        const report = await submitter(`${url}/wrong-prefix`).drain({ maxPauseWaitMs: 0 });
        expect(report.goalErrors).toEqual([
          {
            account: account.name,
            goal: 'Not there yet',
            error: expect.stringMatching(/answered 404 .*check MSADS_API_BASE_URL/),
          },
        ]);
      }
      expect(await states(database)).toEqual({ queued: 2 });
    } finally {
      await database.query(sql`delete from conversions`);
      await database.query(sql`delete from goals where id = ${newGoal}::uuid`);
    }
  });

  it('with two calls in flight, the pause one of them sets ends the other instead of sleeping through it', async () => {
    await queueConversions(database, { goalId, goalName, count: 8 });
    // One call a second: the second call waits for its slot while the first is refused and pauses the
    // account for 15 minutes; it must give up then, not sleep until the pause ends.
    const report = await testSubmitter(database, [{ account, client: client(`${url}/wrong-prefix`) }], {
      config: { concurrency: 2, callsPerMinute: 60 },
      batchSize: 4,
    }).drain({ maxPauseWaitMs: 0 });
    expect(report).toMatchObject({ calls: 1, rejected: 0 });
    expect(await states(database)).toEqual({ queued: 8 });
  }, 60_000);

  it.each<[string, FaultSpec, RegExp]>([
    [
      'an HTML 404 page',
      { kind: 'http404html' },
      /answered 404 text\/html from .*: check MSADS_API_BASE_URL.*404 Not Found/,
    ],
    ['a code closeloop does not know', { kind: 'apiFault', code: 4321 }, /^4321 Error4321: /],
    [
      '5600 for a request that carried rows',
      { kind: 'apiFault', code: 5600 },
      /^5600 OfflineConversionsNullOrEmpty: .*did not reach it intact/,
    ],
  ])('%s: one call, the account pauses with the answer shown, nothing rejected', async (_, fault, shown) => {
    await queueConversions(database, { goalId, goalName, count: 8 });
    emulator.injectFault({ ...fault, count: 1 });
    const report = await submitter().drain({ maxPauseWaitMs: 0 });
    expect(report).toMatchObject({ calls: 1, rejected: 0, splits: 0 });
    expect(await states(database)).toEqual({ queued: 8 });
    expect((await rows()).every((r) => r.attempts === 0)).toBe(true);
    expect((await pause()).reason).toMatch(shown);
  });

  it.each<[string, FaultSpec]>([
    ['an empty 200', { kind: 'empty200' }],
    ['a 200 cut short (not JSON)', { kind: 'garbage200' }],
  ])('%s is transient: the rows are retried with backoff, then accepted', async (_, fault) => {
    await queueConversions(database, { goalId, goalName, count: 8 });
    emulator.injectFault({ ...fault, count: 1 });
    const report = await submitter().drain({ maxPauseWaitMs: 0 });
    expect(report).toMatchObject({ calls: 1, rejected: 0, retried: 8, splits: 0 });
    const after = await rows();
    expect(after.every((r) => r.state === 'queued' && r.attempts === 1 && r.next_attempt_at)).toBe(true);
    expect(after[0]?.message).toMatch(/answered 200 application\/json from .* that closeloop cannot read/);
    expect((await pause()).until).toBeNull();
    const later = () => new Date(Date.now() + 2 * 60_000);
    expect(await submitter(url, later).drain()).toMatchObject({ calls: 1, accepted: 8 });
  });
});

describe('splitting, only on signs that one item spoils its batch', () => {
  it('5601 (too many items) halves the batch; every row is accepted', async () => {
    await queueConversions(database, { goalId, goalName, count: 8 });
    emulator.injectFault({ kind: 'apiFault', code: 5601, count: 1 });
    const report = await submitter().drain();
    expect(report).toMatchObject({ calls: 3, splits: 1, accepted: 8, rejected: 0 });
  });

  // Row 0 is refused alone before any part was read: its verdict waits for row 1's acceptance.
  it.each([40, 0])(
    '113 with one unreadable row (#%i): halves until it is alone, rejects only it, in a handful of calls',
    async (at) => {
      await queueConversions(database, { goalId, goalName, count: 64 });
      const [poison] = await database.query<{ click_id: string }>(
        sql`select click_id from conversions order by id offset ${at} limit 1`,
      );
      emulator.poisonClickId(poison!.click_id);
      const report = await submitter().drain();
      expect(await states(database)).toEqual({ accepted: 63, rejected: 1 });
      // 64 → 32 → 16 → 8 → 4 → 2 → 1: the refused path and its siblings, not 2·64 − 1 = 127.
      expect(report.calls).toBeLessThanOrEqual(2 * Math.log2(64) + 1);
      const [bad] = await database.query<{ click_id: string; error_code: string; message: string }>(
        sql`select click_id, error_code, message from conversions where state = 'rejected'`,
      );
      expect(bad).toMatchObject({ click_id: poison!.click_id, error_code: '113' });
      expect(bad?.message).toContain('Microsoft cannot read this row');
    },
  );

  it('113 for every row (a request Microsoft cannot read at all): stops early, rejects nothing, pauses', async () => {
    await queueConversions(database, { goalId, goalName, count: 64 });
    for (const r of await database.query<{ click_id: string }>(sql`select click_id from conversions`))
      emulator.poisonClickId(r.click_id);
    const report = await submitter().drain({ maxPauseWaitMs: 0 });
    expect(report.rejected).toBe(0);
    // The refused path down to one row (7 calls), then lone rows until the limit: 11, not 127.
    expect(report.calls).toBeLessThanOrEqual(Math.log2(64) + 1 + 2 * unprovenLoneRefusals);
    const after = await rows();
    const retried = after.filter((r) => r.attempts === 1);
    expect(retried).toHaveLength(unprovenLoneRefusals);
    expect(retried.every((r) => r.state === 'queued' && r.next_attempt_at)).toBe(true);
    expect(retried[0]?.message).toContain('no other part of its batch was read');
    expect(after.filter((r) => r.state === 'queued' && r.attempts === 0)).toHaveLength(
      64 - unprovenLoneRefusals,
    );
    expect((await pause()).reason).toMatch(/refused 4 rows alone as unreadable .*113 InvalidDateObject/);
  });
});

describe('rows an earlier release rejected because a whole call failed', () => {
  it('are queued again by retry with rejectedByCall (and their orphaned adjustments), no other rejected row', async () => {
    await queueConversions(database, { goalId, goalName, count: 4 });
    const ids = (await database.query<{ id: number }>(sql`select id from conversions order by id`)).map((r) =>
      Number(r.id),
    );
    // What the old split wrote for a 404 page: each row alone in a call refused whole, rejected with the
    // call's error; and one row Microsoft itself rejected (5606) in an answered call, which stays rejected.
    for (const i of [0, 1, 2]) {
      const [sub] = await database.query<{ id: string }>(sql`
        insert into submissions (account_id, operation, worker, items, outcome, rejected, http_status,
                                 error_code, error_message, started_at, finished_at)
        values (${account.id}::uuid, 'conversions', 'old', 1, 'rejected', 1, 404, 'HTTP 404',
                'HTTP 404: <html>Not Found</html>', now(), now())
        returning id`);
      await database.query(sql`
        update conversions set state = 'rejected', attempts = ${i + 1}, error_code = 'HTTP 404',
               error_name = 'HTTP 404', submission_id = ${sub!.id}::uuid,
               message = 'Microsoft refused the request carrying this row: HTTP 404: <html>Not Found</html>'
         where id = ${ids[i]!}`);
    }
    const [answered] = await database.query<{ id: string }>(sql`
      insert into submissions (account_id, operation, worker, items, outcome, rejected, http_status,
                               started_at, finished_at)
      values (${account.id}::uuid, 'conversions', 'old', 1, 'rejected', 1, 200, now(), now())
      returning id`);
    await database.query(sql`
      update conversions set state = 'rejected', error_code = '5606', error_name = 'OfflineConversionNameInvalid',
             submission_id = ${answered!.id}::uuid,
             message = '5606 OfflineConversionNameInvalid: The conversion name do not match …'
       where id = ${ids[3]!}`);
    // An adjustment rejected only because its conversion was.
    await database.query(sql`
      insert into adjustments (conversion_id, type, adjustment_time, state, error_code, message, source, source_ref)
      values (${ids[0]!}, 'retract', now() - interval '1 hour', 'rejected', 'ADJUSTMENT_CONVERSION_NOT_SENDABLE',
              'The conversion this adjusts ended rejected (HTTP 404), so there is nothing to adjust at Microsoft.',
              'api', 'test:adj')`);

    const ctx = testContext(database, () => new Date());
    expect(await retryFailedRows({ ctx })).toEqual({ queued: 0 });
    expect(await retryFailedRows({ ctx, rejectedByCall: true })).toEqual({ queued: 4, rejectedByCall: 4 });
    expect(await states(database)).toEqual({ queued: 3, rejected: 1 });
    expect(await states(database, 'adjustments')).toEqual({ queued: 1 });
    const back = await rows();
    expect(back.slice(0, 3).every((r) => r.attempts === 0 && r.message === null)).toBe(true);
    // Sent again: the three conversions are accepted, then the Retract follows.
    const report = await submitter().drain();
    expect(report.accepted).toBe(4);
    expect(await states(database, 'adjustments')).toEqual({ accepted: 1 });
  });
});
