import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { sweepStaleClaims } from '../../src/submit/maintenance.ts';
import { type ClaimedBatch, claimBatch, type LedgerTable } from '../../src/submit/outbox.ts';
import { touchClaim } from '../../src/submit/submissions.ts';
import { markAccepted, markRetry, markVerdicts, release } from '../../src/submit/verdicts.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { addAccount, addGoal, queueConversions } from '../helpers/submit.ts';

/*
 * The claim fence: a process whose claim was swept (it hung past the claim timeout) may still get its
 * answer from Microsoft and try to record it. Every write of an answer is fenced by the claim's id and
 * state 'submitting', so that late write changes nothing, whatever became of the rows since: back in
 * the queue, claimed by another process, or already answered through it.
 */

const claimTimeoutMs = 60_000;
const policy = { maxAttempts: 5, backoffBaseMs: 1000, backoffCapMs: 10_000 };
const goalName = 'Fenced';

let database: Database;
let accountId: string;
let goalId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  accountId = (await addAccount(database)).id;
  goalId = await addGoal(database, { name: goalName });
});
afterAll(() => database?.close());
beforeEach(async () => {
  await database.query(sql`delete from adjustments`);
  await database.query(sql`delete from conversions`);
});

const claim = (now: Date, submissionId = randomUUID()) =>
  claimBatch(database, { accountId, goalIds: [goalId], limit: 1000, submissionId, now });

/** Three due rows of the table: conversions, or adjustments of three accepted conversions. */
async function queue(table: LedgerTable) {
  await queueConversions(database, { goalId, goalName, count: 3 });
  if (table === 'conversions') return;
  await database.query(sql`update conversions set state = 'accepted', attempts = 1`);
  await database.query(sql`
    insert into adjustments (conversion_id, type, adjustment_time, value, currency, state, source, source_ref)
    select id, 'restate', conversion_time + interval '1 minute', 25, 'USD', 'queued', 'api', 'fence:' || id
      from conversions`);
}

/** The rows as PostgreSQL has them, every column. */
const snapshot = (table: LedgerTable) =>
  database.query(sql`select row_to_json(t)::text as row from ${sql.raw(table)} t order by id`);

/** Every fenced writer, called for the dead claim on its own rows; each returns how many rows it wrote. */
function lateWrites(table: LedgerTable, deadClaim: string, ids: number[], now: Date) {
  const message = { errorCode: '0', errorName: 'InternalError', message: 'late' };
  return {
    markAccepted: () => markAccepted(database, table, { submissionId: deadClaim, ids, now }),
    'markVerdicts (rejected)': () =>
      markVerdicts(database, table, {
        submissionId: deadClaim,
        now,
        verdicts: ids.map((id) => ({ id, state: 'rejected' as const, ...message })),
      }),
    'markVerdicts (held)': () =>
      markVerdicts(database, table, {
        submissionId: deadClaim,
        now,
        verdicts: ids.map((id) => ({ id, state: 'held' as const, heldUntil: now, ...message })),
      }),
    markRetry: async () => {
      const r = await markRetry(database, table, { submissionId: deadClaim, policy, ids, now, ...message });
      return r.retried + r.failed;
    },
    release: () => release(database, table, { submissionId: deadClaim, ids, now, notBefore: now }),
    'release (all rows)': () => release(database, table, { submissionId: deadClaim, now }),
    touchClaim: async () => {
      await touchClaim(database, table, deadClaim, now);
      return 0;
    },
  };
}

/** What became of the dead claim's rows before its answer arrives. */
const fates = {
  'back in the queue': async () => {},
  'claimed by another process': async (t: Date) => {
    const taken = await claim(new Date(t.getTime() + 1000));
    expect(taken.rows).toHaveLength(3);
  },
  'answered through another process': async (t: Date, table: LedgerTable) => {
    const taken = await claim(new Date(t.getTime() + 1000));
    const ids = taken.rows.map((r) => r.id);
    const submissionId = await submissionOf(table, ids[0]!);
    expect(await markAccepted(database, table, { submissionId, ids, now: t })).toBe(3);
  },
};

async function submissionOf(table: LedgerTable, id: number) {
  const [row] = await database.query<{ submission_id: string }>(
    sql`select submission_id::text from ${sql.raw(table)} where id = ${id}`,
  );
  return row!.submission_id;
}

describe('the claim fence: a claim swept after the timeout writes nothing afterwards', () => {
  for (const table of ['conversions', 'adjustments'] as const)
    for (const [fate, befall] of Object.entries(fates))
      it(`${table}, rows ${fate}: every fenced writer changes nothing`, async () => {
        await queue(table);
        const t0 = new Date();
        const deadClaim = randomUUID();
        const dead: ClaimedBatch = await claim(t0, deadClaim);
        expect(dead.table).toBe(table);
        const ids = dead.rows.map((r) => r.id);
        expect(ids).toHaveLength(3);

        const swept = new Date(t0.getTime() + claimTimeoutMs + 1000);
        expect(await sweepStaleClaims(database, { now: swept, claimTimeoutMs, maxAttempts: 5 })).toBe(3);
        await befall(swept, table);

        const before = await snapshot(table);
        const late = new Date(swept.getTime() + 5000);
        for (const [writer, write] of Object.entries(lateWrites(table, deadClaim, ids, late))) {
          expect(await write(), writer).toBe(0);
          expect(await snapshot(table), `${writer} changed the rows`).toEqual(before);
        }
      });
});
