import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { applyUpload } from '../../src/ingest/apply.ts';
import { previewUpload } from '../../src/ingest/preview.ts';
import { createGoal } from '../../src/services/goals.ts';
import { testClock, testContext, textInput } from '../helpers/context.ts';
import { createTestDatabase, testDbKind } from '../helpers/db.ts';

/**
 * Two uploads that share conversions, applied at the same moment (on PostgreSQL, in two connections):
 * whichever commits first owns each shared conversion, the other records it as a duplicate, and no
 * conversion is ever in the ledger twice.
 */
const clock = testClock('2026-06-01T00:00:00Z');
let database: Database;
const ctx = () => testContext(database, clock.now);

beforeAll(async () => {
  database = await createTestDatabase();
  await createGoal({ ctx: ctx(), input: { name: 'Purchase' } });
  clock.set('2026-06-15T12:00:00Z');
});
afterAll(() => database.close());

function file(from: number, to: number): string {
  const lines = ['Microsoft Click Id,Conversion Name,Conversion Time'];
  for (let i = from; i < to; i++)
    lines.push(`${i.toString(16).padStart(32, '0')},Purchase,2026-06-10 10:00:00`);
  return lines.join('\n');
}

describe(`concurrent applies (${testDbKind()})`, () => {
  it('never puts a conversion in the ledger twice', async () => {
    // Rows 0–2,999 in A, 2,000–4,999 in B: 1,000 shared.
    const a = await previewUpload({
      ctx: ctx(),
      input: textInput(file(0, 3000)),
      filename: 'a.csv',
      kind: 'conversions',
    });
    const b = await previewUpload({
      ctx: ctx(),
      input: textInput(file(2000, 5000)),
      filename: 'b.csv',
      kind: 'conversions',
    });
    expect(a.counts).toEqual({ ok: 3000 });
    expect(b.counts).toEqual({ ok: 3000 });

    const [appliedA, appliedB] = await Promise.all([
      applyUpload({ ctx: ctx(), uploadId: a.id }),
      applyUpload({ ctx: ctx(), uploadId: b.id }),
    ]);
    const duplicates = (appliedA.counts.duplicate ?? 0) + (appliedB.counts.duplicate ?? 0);
    expect(duplicates).toBe(1000);
    expect((appliedA.counts.queued ?? 0) + (appliedB.counts.queued ?? 0)).toBe(5000);

    const [ledger] = await database.query<{ originals: number; distinct_ids: number; dups: number }>(sql`
      select count(*) filter (where state <> 'duplicate')::int as originals,
             count(distinct click_id) filter (where state <> 'duplicate')::int as distinct_ids,
             count(*) filter (where state = 'duplicate' and duplicate_of is not null)::int as dups
        from conversions`);
    expect(ledger).toEqual({ originals: 5000, distinct_ids: 5000, dups: 1000 });
  });
});
