import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { ts } from '../../src/db/sql.ts';
import type { Emulator } from '../../src/msads/emulator/index.ts';
import { retryFailed } from '../../src/submit/maintenance.ts';
import type { SubmitAccount } from '../../src/submit/submitter.ts';
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

let database: Database;
let emulator: Emulator;
let account: SubmitAccount;
let goalId: string;
const goalName = 'Closed deal';

beforeAll(async () => {
  database = await createTestDatabase();
  account = await addAccount(database);
  goalId = await addGoal(database, { name: goalName });
});
afterAll(async () => {
  await database?.close();
});

beforeEach(async () => {
  emulator = await resetSending(database, goalName);
});

const submitter = (overrides: Parameters<typeof testSubmitter>[2] = {}) =>
  testSubmitter(database, [{ account, client: emulatorClient(emulator.fetch, account) }], overrides);

describe('the submitter', () => {
  it('sends 2,500 queued conversions in three calls of at most 1,000 and records each call', async () => {
    await queueConversions(database, { goalId, goalName, count: 2500 });
    const report = await submitter().drain();
    expect(report.calls).toBe(3);
    expect(report.accepted).toBe(2500);
    expect(await states(database)).toEqual({ accepted: 2500 });
    expect(emulator.stats().accepted).toBe(2500);
    const sizes = emulator.requests.map(
      (r) => (r.body as { OfflineConversions: unknown[] }).OfflineConversions.length,
    );
    expect(sizes.sort((a, b) => b - a)).toEqual([1000, 1000, 500]);
    const subs = await database.query<{ outcome: string; items: number; tracking_id: string | null }>(
      sql`select outcome, items, tracking_id from submissions order by items desc`,
    );
    expect(subs.map((s) => s.outcome)).toEqual(['accepted', 'accepted', 'accepted']);
    expect(subs.every((s) => s.tracking_id)).toBe(true);
  });

  it('sends the wire format Microsoft documents: headers, PascalCase, UTC to the second, no unset fields', async () => {
    await queueConversions(database, {
      goalId,
      goalName,
      count: 1,
      conversionTime: new Date('2026-11-20T10:11:12.345Z'),
    });
    await database.query(sql`update conversions set currency = null`);
    await submitter().drain();
    const [request] = emulator.requests;
    expect(request?.path).toBe('/CampaignManagement/v13/OfflineConversions/Apply');
    expect(request?.headers.developertoken).toBe('dev-token');
    expect(request?.headers.customerid).toBe('1000');
    expect(request?.headers.customeraccountid).toBe('2000');
    const [item] = (request!.body as { OfflineConversions: Record<string, unknown>[] }).OfflineConversions;
    expect(item).toEqual({
      MicrosoftClickId: expect.stringMatching(/^[0-9a-f]{32}$/),
      ConversionName: goalName,
      ConversionTime: '2026-11-20T10:11:12Z',
      ConversionValue: 10,
    });
  });

  it('maps PartialErrors back to rows by Index, keeping every error of a row', async () => {
    await queueConversions(database, { goalId, goalName, count: 5 });
    // Row 3 names a goal Microsoft does not know (5606) and lies in the future (5614).
    await database.query(sql`
      update conversions set goal_name = 'Nope', conversion_time = ${ts(new Date(Date.now() + 3600_000))}
       where id = (select id from conversions order by id offset 2 limit 1)`);
    await submitter().drain();
    expect(await states(database)).toEqual({ accepted: 4, rejected: 1 });
    const [bad] = await database.query<{ error_code: string; error_name: string; message: string }>(
      sql`select error_code, error_name, message from conversions where state = 'rejected'`,
    );
    expect(bad?.error_code).toBe('5606, 5614');
    expect(bad?.error_name).toContain('OfflineConversionNameInvalid');
    expect(bad?.message).toContain('goals sync');
    const [sub] = await database.query<{ outcome: string; accepted: number; rejected: number }>(
      sql`select outcome, accepted, rejected from submissions`,
    );
    expect(sub).toMatchObject({ outcome: 'partial', accepted: 4, rejected: 1 });
  });

  it('splits a batch Microsoft refuses whole, so only the bad row is rejected', async () => {
    await queueConversions(database, { goalId, goalName, count: 10 });
    const [poison] = await database.query<{ click_id: string }>(
      sql`select click_id from conversions order by id offset 6 limit 1`,
    );
    emulator.poisonClickId(poison!.click_id);
    const report = await submitter().drain();
    expect(await states(database)).toEqual({ accepted: 9, rejected: 1 });
    expect(report.splits).toBeGreaterThan(0);
    const [bad] = await database.query<{ click_id: string; error_code: string }>(
      sql`select click_id, error_code from conversions where state = 'rejected'`,
    );
    expect(bad?.click_id).toBe(poison!.click_id);
    expect(bad?.error_code).toBe('113');
    // 1 refused call, then halves: 10 → 5+5 → (2+3) → … far fewer calls than one per row.
    expect(report.calls).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(10)) + 1);
  });

  it('retries transient failures with backoff and then accepts', async () => {
    await queueConversions(database, { goalId, goalName, count: 3 });
    emulator.injectFault({ kind: 'http500', count: 1 });
    const slow = { config: { backoffBaseMs: 60_000, backoffCapMs: 60_000 } };
    const first = await submitter(slow).drain();
    expect(first.retried).toBe(3);
    const [row] = await database.query<{
      state: string;
      attempts: number;
      message: string;
      next_attempt_at: unknown;
    }>(sql`select state, attempts, message, next_attempt_at from conversions limit 1`);
    expect(row).toMatchObject({ state: 'queued', attempts: 1 });
    expect(row?.message).toContain('Attempt 1 of 5 failed');
    expect(row?.next_attempt_at).not.toBeNull();
    // One jitter per batch: rows that failed together go out again together, in one call.
    const [due] = await database.query<{ n: number }>(
      sql`select count(distinct next_attempt_at)::int as n from conversions`,
    );
    expect(Number(due?.n)).toBe(1);
    // Not due yet: another round leaves them alone.
    expect((await submitter(slow).drain()).calls).toBe(0);
    await database.query(sql`update conversions set next_attempt_at = now() - interval '1 second'`);
    await submitter(slow).drain();
    expect(await states(database)).toEqual({ accepted: 3 });
  });

  it('marks rows failed after the last attempt, and retryFailed queues them again', async () => {
    await queueConversions(database, { goalId, goalName, count: 2 });
    emulator.injectFault({ kind: 'error0', count: 100 });
    const s = submitter({ config: { maxAttempts: 2, backoffBaseMs: 60_000, backoffCapMs: 60_000 } });
    await s.drain();
    await database.query(sql`update conversions set next_attempt_at = null`);
    const second = await s.drain();
    expect(second.failed).toBe(2);
    const [row] = await database.query<{ state: string; error_code: string; message: string }>(
      sql`select state, error_code, message from conversions limit 1`,
    );
    expect(row).toMatchObject({ state: 'failed', error_code: '0' });
    expect(row?.message).toContain('Sending failed 2 times');
    emulator.clearFaults();
    expect(await retryFailed(database, { now: new Date() })).toBe(2);
    await s.drain();
    expect(await states(database)).toEqual({ accepted: 2 });
  });

  it('never retries permanent errors', async () => {
    await queueConversions(database, { goalId, goalName, count: 1 });
    await database.query(sql`update conversions set goal_name = 'Unknown goal'`);
    await submitter().drain();
    await submitter().drain();
    expect(await states(database)).toEqual({ rejected: 1 });
    expect(emulator.stats().calls).toBe(1);
  });

  it('pauses the whole account on 117 and gives the rows back without spending an attempt', async () => {
    await queueConversions(database, { goalId, goalName, count: 4 });
    emulator.injectFault({ kind: '117', count: 1 });
    const report = await submitter({ config: { concurrency: 1 } }).drain({ maxPauseWaitMs: 0 });
    expect(report.throttled).toBe(1);
    expect(await states(database)).toEqual({ queued: 4 });
    const [row] = await database.query<{ attempts: number }>(sql`select attempts from conversions limit 1`);
    expect(row?.attempts).toBe(0);
    const [acct] = await database.query<{ paused_until: unknown; pause_reason: string }>(
      sql`select paused_until, pause_reason from accounts where id = ${account.id}::uuid`,
    );
    expect(acct?.pause_reason).toContain('throttled');
    const pausedMs = new Date(String(acct?.paused_until)).getTime() - Date.now();
    expect(pausedMs).toBeGreaterThan(55_000);
    // Another round skips the paused account instead of calling.
    const again = await submitter().drain({ maxPauseWaitMs: 0 });
    expect(again.calls).toBe(0);
    expect(again.skippedAccounts).toEqual([account.name]);
  });

  it('releases held rows when due and expires rows older than 90 days without a call', async () => {
    await queueConversions(database, {
      goalId,
      goalName,
      count: 2,
      state: 'held',
      heldUntil: new Date(Date.now() - 1000),
      salt: 'h',
    });
    await queueConversions(database, {
      goalId,
      goalName,
      count: 3,
      state: 'held',
      heldUntil: new Date(Date.now() + 3600_000),
      salt: 'f',
    });
    await queueConversions(database, {
      goalId,
      goalName,
      count: 4,
      conversionTime: new Date(Date.now() - 91 * 86_400_000),
      salt: 'o',
    });
    const report = await submitter().drain();
    expect(report.released).toBe(2);
    expect(report.expired).toBe(4);
    expect(await states(database)).toEqual({ accepted: 2, held: 3, expired: 4 });
    expect(emulator.stats().itemsReceived).toBe(2);
    const [old] = await database.query<{ error_code: string; message: string }>(
      sql`select error_code, message from conversions where state = 'expired' limit 1`,
    );
    expect(old?.error_code).toBe('CONVERSION_TOO_OLD');
    expect(old?.message).toContain('more than 90 days');
  });

  it('holds rows Microsoft refuses with 5615 (goal under 2 hours old there) instead of rejecting them', async () => {
    emulator.reset();
    emulator.addGoal({ customerId: '1000', accountId: '2000', name: goalName, createdAt: new Date() });
    await queueConversions(database, { goalId, goalName, count: 2 });
    await submitter().drain();
    expect(await states(database)).toEqual({ held: 2 });
    const [row] = await database.query<{ error_code: string; held_until: unknown }>(
      sql`select error_code, held_until from conversions limit 1`,
    );
    expect(row?.error_code).toBe('5615');
    expect(row?.held_until).not.toBeNull();
  });

  it('sends an adjustment only after Microsoft accepted its conversion', async () => {
    await queueConversions(database, { goalId, goalName, count: 1 });
    await database.query(sql`
      insert into adjustments (conversion_id, type, adjustment_time, value, currency, state, source, source_ref)
      select id, 'restate', now() - interval '1 minute', 99, 'USD', 'queued', 'api', 'adj' from conversions`);
    await database.query(sql`
      insert into adjustments (conversion_id, type, adjustment_time, state, source, source_ref)
      select id, 'retract', now() - interval '30 seconds', 'queued', 'api', 'adj2' from conversions`);
    await submitter().drain();
    expect(await states(database)).toEqual({ accepted: 1 });
    expect(await states(database, 'adjustments')).toEqual({ accepted: 2 });
    const paths = emulator.requests.map((r) => r.path.split('/')[3]);
    expect(paths).toEqual([
      'OfflineConversions',
      'OfflineConversionAdjustments',
      'OfflineConversionAdjustments',
    ]);
    const restate = (
      emulator.requests[1]!.body as { OfflineConversionAdjustments: Record<string, unknown>[] }
    ).OfflineConversionAdjustments[0];
    expect(restate).toMatchObject({
      AdjustmentType: 'Restate',
      AdjustmentValue: 99,
      ConversionName: goalName,
    });
  });

  it('sweeps claims left by a dead process and sends their rows again', async () => {
    await queueConversions(database, { goalId, goalName, count: 3 });
    const deadClaim = '00000000-0000-4000-8000-000000000001';
    await database.query(sql`
      update conversions set state = 'submitting', submission_id = ${deadClaim}::uuid, attempts = 1,
             claimed_at = ${ts(new Date(Date.now() - 10 * 60_000))}`);
    const report = await submitter().drain();
    expect(report.reclaimed).toBe(3);
    expect(await states(database)).toEqual({ accepted: 3 });
    // The dead claim's late answer is fenced out: test/submit/fence.db.test.ts.
  });
});
