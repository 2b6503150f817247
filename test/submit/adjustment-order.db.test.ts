import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { ts } from '../../src/db/sql.ts';
import { createEmulator, type Emulator } from '../../src/msads/emulator/index.ts';
import { paths } from '../../src/msads/wire.ts';
import { claimAdjustments, hasDue } from '../../src/submit/outbox.ts';
import type { SubmitAccount } from '../../src/submit/submitter.ts';
import { createTestDatabase } from '../helpers/db.ts';
import {
  addAccount,
  addGoal,
  emulatorClient,
  queueConversions,
  states,
  testSubmitter,
} from '../helpers/submit.ts';

/*
 * An adjustment goes to Microsoft only after Microsoft accepted its conversion. Microsoft takes an
 * adjustment of a conversion it never saw and reports that only later, asynchronously
 * (AdjustmentOriginalNotFound); the emulator stores such an adjustment with originalFound: false, and
 * these tests assert that it never has one.
 */

const goalName = 'Deal';
let database: Database;
let account: SubmitAccount;
let goalId: string;
let emulator: Emulator;

beforeAll(async () => {
  database = await createTestDatabase();
  account = await addAccount(database);
  goalId = await addGoal(database, { name: goalName });
});
afterAll(() => database?.close());
beforeEach(async () => {
  emulator = createEmulator({ auth: 'open' });
  emulator.addGoal({ customerId: '1000', accountId: '2000', name: goalName, createdAt: new Date(0) });
  await database.query(sql`delete from adjustments`);
  await database.query(sql`delete from conversions`);
  await database.query(sql`update accounts set paused_until = null, next_call_at = null`);
});

const hourAhead = () => new Date(Date.now() + 3_600_000);

/** One conversion in the given state and one Restate of it, queued and due. */
async function conversionWithAdjustment(state: string, extra: Record<string, unknown> = {}) {
  await queueConversions(database, { goalId, goalName, count: 1 });
  await database.query(sql`
    update conversions set state = ${state}, attempts = ${state === 'queued' ? 0 : 1},
           held_until = ${extra.heldUntil ? ts(extra.heldUntil as Date) : sql`null`},
           next_attempt_at = ${extra.nextAttemptAt ? ts(extra.nextAttemptAt as Date) : sql`null`},
           claimed_at = ${state === 'submitting' ? ts(new Date()) : sql`null`},
           submission_id = ${state === 'submitting' ? randomUUID() : null}::uuid`);
  await database.query(sql`
    insert into adjustments (conversion_id, type, adjustment_time, value, currency, state, source, source_ref)
    select id, 'restate', conversion_time + interval '1 minute', 99, 'USD', 'queued', 'api', 'adj' from conversions`);
}

/** Every conversion state but 'accepted', as the ledger can hold it. */
const notAccepted: [label: string, state: string, extra?: Record<string, unknown>][] = [
  ['held', 'held', { heldUntil: hourAhead() }],
  ['queued', 'queued'],
  ['queued, in backoff', 'queued', { nextAttemptAt: hourAhead() }],
  ['submitting', 'submitting'],
  ['rejected', 'rejected'],
  ['expired', 'expired'],
  ['failed', 'failed'],
  ['a duplicate', 'duplicate'],
];

const claimAll = (now = new Date()) =>
  claimAdjustments(database, { goalIds: [goalId], limit: 1000, submissionId: randomUUID(), now });

/** Microsoft never holds an adjustment of a conversion it did not accept. */
function expectNoOrphanAtMicrosoft() {
  expect(emulator.adjustments().filter((a) => !a.originalFound)).toEqual([]);
}

describe('an adjustment is claimed only once its conversion was accepted', () => {
  it.each(notAccepted)('not while the conversion is %s', async (_label, state, extra) => {
    await conversionWithAdjustment(state, extra);
    expect(await claimAll()).toEqual([]);
    expect(await states(database, 'adjustments')).toEqual({ queued: 1 });
    if (state !== 'queued' || extra)
      expect(await hasDue(database, { goalIds: [goalId], now: new Date() })).toBe(false);
    // Once accepted, the same adjustment is claimed at once.
    await database.query(
      sql`update conversions set state = 'accepted', next_attempt_at = null, held_until = null`,
    );
    expect((await claimAll()).map((a) => a.type)).toEqual(['restate']);
  });
});

describe('Microsoft never receives an adjustment before its conversion', () => {
  it.each(notAccepted.filter(([label]) => label !== 'queued'))(
    'a submitter round with the conversion %s sends no adjustment',
    async (_label, state, extra) => {
      await conversionWithAdjustment(state, extra);
      await testSubmitter(database, [{ account, client: emulatorClient(emulator.fetch, account) }]).drain();
      expect(emulator.requests.filter((r) => r.path === paths.applyOfflineConversionAdjustments)).toEqual([]);
      expectNoOrphanAtMicrosoft();
    },
  );

  it('a conversion Microsoft refuses takes its adjustments down with it, unsent', async () => {
    await conversionWithAdjustment('queued');
    await database.query(sql`update conversions set goal_name = 'Unknown there'`);
    const submitter = testSubmitter(database, [{ account, client: emulatorClient(emulator.fetch, account) }]);
    await submitter.drain();
    expect(await states(database)).toEqual({ rejected: 1 });
    expect(emulator.requests.map((r) => r.path)).toEqual([paths.applyOfflineConversions]);
    expectNoOrphanAtMicrosoft();
  });

  it('sends the adjustments after their conversions, in the same round, each original found', async () => {
    await queueConversions(database, { goalId, goalName, count: 30, salt: 'many' });
    await database.query(sql`
      insert into adjustments (conversion_id, type, adjustment_time, value, currency, state, source, source_ref)
      select id, 'restate', conversion_time + interval '1 minute', 99, 'USD', 'queued', 'api', 'r' || id
        from conversions`);
    await database.query(sql`
      insert into adjustments (conversion_id, type, adjustment_time, state, source, source_ref)
      select id, 'retract', conversion_time + interval '2 minutes', 'queued', 'api', 'x' || id from conversions`);
    // Calls of 10 rows, two at a time: adjustments become due while other conversions are in flight.
    await testSubmitter(database, [{ account, client: emulatorClient(emulator.fetch, account) }], {
      batchSize: 10,
    }).drain();
    expect(await states(database)).toEqual({ accepted: 30 });
    expect(await states(database, 'adjustments')).toEqual({ accepted: 60 });
    expect(emulator.adjustments()).toHaveLength(60);
    expectNoOrphanAtMicrosoft();
  });
});
