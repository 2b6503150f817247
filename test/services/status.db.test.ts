import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { accounts, submissions } from '../../src/db/schema/index.ts';
import { ts } from '../../src/db/sql.ts';
import { describeDatabase, queueStatus, type StatusView, statusSetup } from '../../src/services/status.ts';
import { throttledReason } from '../../src/submit/pause-reason.ts';
import { testApp } from '../helpers/app.ts';
import { testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { addAccount, addGoal, queueConversions } from '../helpers/submit.ts';

const now = new Date('2026-06-01T10:00:00Z');
const at = (iso: string) => new Date(iso);
const setup = statusSetup({
  database: { kind: 'pglite', dataDir: '/srv/closeloop/.closeloop' },
  msads: { apiBaseUrl: '', tokenUrl: '', envAccount: undefined },
});

let database: Database;
let view: StatusView;
let ids: { dry: string; live: string; ready: string; fresh: string; stray: string };

/**
 * One ledger with every reason a row can wait: a live account with a ready goal (rows due, one in
 * backoff, held for their click, held by Microsoft's 5615, accepted, rejected, an adjustment waiting
 * for its conversion), the dry run's account paused with a goal not yet at Microsoft, and a goal that
 * no account sends.
 */
beforeAll(async () => {
  database = await createTestDatabase();
  const dry = await addAccount(database, { name: 'Dry run', msAccountId: '2000', isDefault: true });
  const [live] = await database.db
    .insert(accounts)
    .values({
      name: 'Shop',
      target: 'microsoft',
      origin: 'database',
      msCustomerId: '111',
      msAccountId: '444',
      refreshTokenEnc: 'sealed',
      authStatus: 'ok',
    })
    .returning();
  await database.db
    .update(accounts)
    .set({ pausedUntil: at('2026-06-01T10:15:00Z'), pauseReason: '105 InvalidCredentials: sign in again' })
    .where(sql`id = ${dry.id}::uuid`);
  const ready = await addGoal(database, {
    name: 'Purchase',
    accountId: '444',
    readyAt: at('2026-06-01T07:00:00Z'),
  });
  const fresh = await addGoal(database, { name: 'Lead', msadsGoalId: null });
  const stray = await addGoal(database, { name: 'Old', accountId: '999' });
  ids = { dry: dry.id, live: live!.id, ready, fresh, stray };

  const old = at('2026-05-31T10:00:00Z');
  await queueConversions(database, {
    goalId: ready,
    goalName: 'Purchase',
    count: 3,
    salt: 'due',
    conversionTime: old,
  });
  await queueConversions(database, {
    goalId: ready,
    goalName: 'Purchase',
    count: 1,
    salt: 'later',
    conversionTime: old,
  });
  await database.query(sql`update conversions set next_attempt_at = ${ts(at('2026-06-01T10:05:00Z'))}, attempts = 1
                            where click_id = md5('later1')`);
  await queueConversions(database, {
    goalId: ready,
    goalName: 'Purchase',
    count: 2,
    salt: 'click',
    conversionTime: at('2026-06-01T09:40:00Z'),
    state: 'held',
    heldUntil: at('2026-06-01T10:30:00Z'),
  });
  await database.query(sql`update conversions set click_time = ${ts(at('2026-06-01T09:30:00Z'))}
                            where click_id in (md5('click1'), md5('click2'))`);
  await database.query(sql`update conversions set held_until = ${ts(at('2026-06-01T10:20:00Z'))}
                            where click_id = md5('click2')`);
  await queueConversions(database, {
    goalId: ready,
    goalName: 'Purchase',
    count: 1,
    salt: 'ms',
    conversionTime: old,
    state: 'held',
    heldUntil: at('2026-06-01T10:12:00Z'),
  });
  await database.query(sql`update conversions set error_code = '5615' where click_id = md5('ms1')`);
  await queueConversions(database, {
    goalId: ready,
    goalName: 'Purchase',
    count: 4,
    salt: 'ok',
    conversionTime: old,
  });
  await database.query(sql`update conversions set state = 'accepted'
                            where click_id in (md5('ok1'), md5('ok2'), md5('ok3'))`);
  await database.query(
    sql`update conversions set state = 'rejected', error_code = '5603' where click_id = md5('ok4')`,
  );
  // An adjustment of a conversion still queued waits for it.
  await database.query(sql`
    insert into adjustments (conversion_id, type, adjustment_time, state, source, source_ref)
    select id, 'retract', ${ts(at('2026-06-01T09:00:00Z'))}, 'queued', 'api', 'test:adj'
      from conversions where click_id = md5('due1')`);

  await queueConversions(database, {
    goalId: fresh,
    goalName: 'Lead',
    count: 5,
    salt: 'lead',
    conversionTime: old,
    state: 'held',
    heldUntil: at('2026-06-01T11:34:00Z'),
  });
  await queueConversions(database, {
    goalId: fresh,
    goalName: 'Lead',
    count: 2,
    salt: 'leadq',
    conversionTime: old,
  });
  await queueConversions(database, {
    goalId: stray,
    goalName: 'Old',
    count: 1,
    salt: 'stray',
    conversionTime: old,
  });

  await database.db.insert(submissions).values([
    {
      accountId: live!.id,
      operation: 'conversions',
      worker: 'test',
      items: 3,
      accepted: 3,
      outcome: 'accepted',
      trackingId: 'older-call',
      startedAt: at('2026-06-01T09:00:00Z'),
      finishedAt: at('2026-06-01T09:00:01Z'),
    },
    {
      accountId: live!.id,
      operation: 'conversions',
      worker: 'test',
      items: 2,
      accepted: 1,
      rejected: 1,
      outcome: 'partial',
      trackingId: 'last-call',
      startedAt: at('2026-06-01T09:50:00Z'),
      finishedAt: at('2026-06-01T09:50:01Z'),
    },
  ]);
  view = await queueStatus({ ctx: testContext(database, () => now), setup });
});
afterAll(async () => {
  await database?.close();
});

describe('the queue status', () => {
  it('names the database and the target', () => {
    expect(view).toMatchObject({
      now: now.toISOString(),
      database: { kind: 'pglite', dataDir: '/srv/closeloop/.closeloop' },
      target: 'microsoft',
      dryRun: false,
    });
    expect(view.accounts.map((a) => [a.name, a.dryRun, a.isDefault])).toEqual([
      ['Dry run', true, true],
      ['Shop', false, false],
    ]);
  });

  it('counts rows by state and tells what is due, what waits for a retry and why rows are held', () => {
    const shop = view.accounts.find((a) => a.id === ids.live)!;
    expect(shop.pausedUntil).toBe(null);
    expect(shop.lastSubmission).toMatchObject({ outcome: 'partial', trackingId: 'last-call', accepted: 1 });
    const [goal] = shop.goals;
    expect(goal).toMatchObject({
      id: ids.ready,
      name: 'Purchase',
      conversions: { queued: 4, held: 3, accepted: 3, rejected: 1 },
      adjustments: { queued: 1 },
      dueNow: 3,
      retryLater: { rows: 1, nextAttemptAt: '2026-06-01T10:05:00.000Z' },
      adjustmentsWaitingForConversion: 1,
      waiting: null,
    });
    expect(goal?.held).toEqual([
      {
        reason: 'microsoft',
        why: 'Microsoft answered 5615: goal not ready',
        rows: 1,
        nextReleaseAt: '2026-06-01T10:12:00.000Z',
        lastReleaseAt: '2026-06-01T10:12:00.000Z',
      },
      {
        reason: 'click',
        why: 'click under 1 hour old',
        rows: 2,
        nextReleaseAt: '2026-06-01T10:20:00.000Z',
        lastReleaseAt: '2026-06-01T10:30:00.000Z',
      },
    ]);
  });

  it('says why queued rows are not sent: the account is paused, the goal is not at Microsoft, no account', () => {
    const dry = view.accounts.find((a) => a.id === ids.dry)!;
    expect(dry).toMatchObject({
      pausedUntil: '2026-06-01T10:15:00.000Z',
      pauseReason: '105 InvalidCredentials: sign in again',
      lastSubmission: null,
    });
    const [lead] = dry.goals;
    expect(lead).toMatchObject({
      name: 'Lead',
      msadsGoalId: null,
      dueNow: 0,
      conversions: { held: 5, queued: 2 },
    });
    expect(lead?.waiting).toEqual({
      on: 'account',
      reason: 'account "Dry run" paused until 10:15 UTC: 105 InvalidCredentials: sign in again',
    });
    expect(lead?.held).toEqual([
      expect.objectContaining({ reason: 'goal', rows: 5, why: 'goal under 2 hours old at Microsoft' }),
    ]);
    expect(view.goalsWithoutAccount).toEqual([
      expect.objectContaining({
        id: ids.stray,
        dueNow: 0,
        waiting: {
          on: 'account',
          reason: 'no account sends it: its account id 999 matches no account (closeloop accounts list)',
        },
      }),
    ]);
  });

  it('a throttling pause ends by itself: no hint to lift it', async () => {
    const ctx = testContext(database, () => now);
    await database.db
      .update(accounts)
      .set({ pauseReason: `${throttledReason} (117 CallRateExceeded); calls resume by themselves` })
      .where(sql`name = 'Dry run'`);
    try {
      const throttled = await queueStatus({ ctx, setup });
      expect(throttled.summary).toContain('account "Dry run" paused until 10:15 UTC: Microsoft throttled');
      expect(throttled.summary).not.toContain('accounts resume');
    } finally {
      await database.db
        .update(accounts)
        .set({ pauseReason: '105 InvalidCredentials: sign in again' })
        .where(sql`name = 'Dry run'`);
    }
  });

  it('sums it up in one line, earliest release first', () => {
    expect(view.summary).toBe(
      [
        '3 rows due now',
        '1 row held until 10:12 UTC (Microsoft answered 5615: goal not ready)',
        '2 rows held, the first until 10:20 UTC, the last until 10:30 UTC (click under 1 hour old)',
        '5 rows held until 11:34 UTC (goal under 2 hours old at Microsoft)',
        '1 row to retry from 10:05 UTC',
        '1 adjustment waiting for their conversion to be accepted',
        'account "Dry run" paused until 10:15 UTC: 105 InvalidCredentials: sign in again (once fixed: closeloop accounts resume --account 2000)',
        'no account sends it: its account id 999 matches no account (closeloop accounts list)',
      ].join('; '),
    );
  });
});

describe('where the data is', () => {
  it('names the PostgreSQL server and database, never the password', () => {
    const d = describeDatabase({
      kind: 'postgres',
      url: 'postgres://app:s3cr%21t@db.internal:6543/closeloop?sslmode=require',
    });
    expect(d).toEqual({
      kind: 'postgres',
      host: 'db.internal',
      port: 6543,
      database: 'closeloop',
      user: 'app',
    });
    const several = describeDatabase({
      kind: 'postgres',
      url: 'postgresql://app:s3cret@h1:5432,h2:5432/db?password=x',
    });
    expect(JSON.stringify(several)).not.toMatch(/s3cret|password/);
    expect(several).toMatchObject({ host: 'h1:5432,h2:5432', database: 'db' });
  });
});

describe('GET /api/v1/status', () => {
  it('answers the same view to a key holder, and 401 without one', async () => {
    const { call, app } = await testApp(database, () => now);
    const res = await call('/api/v1/status');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.summary).toBe(view.summary);
    // This app was not told where its data lives: it says the kind only.
    expect(body.database.kind).toBe(database.kind);
    expect((await app.request('/api/v1/status')).status).toBe(401);
  });
});
