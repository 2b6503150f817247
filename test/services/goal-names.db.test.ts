import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { AppError } from '../../src/errors.ts';
import { submitBatch } from '../../src/services/api-batches.ts';
import { createGoal, listGoals, updateGoal } from '../../src/services/goals.ts';
import { testApp } from '../helpers/app.ts';
import { testClock, testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';

/** Microsoft treats goal names that differ only in case as one goal; so does closeloop. */
let database: Database;
const clock = testClock('2026-06-01T10:00:00Z');
const ctx = () => testContext(database, clock.now);

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.close());
beforeEach(async () => {
  await database.query(sql`delete from goals`);
});

async function refusal(name: string): Promise<AppError> {
  const err = await createGoal({ ctx: ctx(), input: { name } }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe('goal names', () => {
  it('a name that differs from an existing one only in case is refused, naming the existing goal', async () => {
    await createGoal({ ctx: ctx(), input: { name: 'Purchase' } });
    for (const name of ['purchase', 'PURCHASE', 'pUrChAsE']) {
      const err = await refusal(name);
      expect(err.code).toBe('conflict');
      expect(err.message).toBe(
        `A goal named "Purchase" already exists, and Microsoft treats goal names that differ only in case as the same goal; use "Purchase", or choose another name.`,
      );
    }
    expect((await refusal('Purchase')).message).toContain('goal names are unique per customer');
    // Not the same name for Microsoft: other spacing, other words.
    await createGoal({ ctx: ctx(), input: { name: 'Purchase online' } });
    expect((await listGoals({ ctx: ctx() })).map((g) => g.name)).toEqual(['Purchase', 'Purchase online']);
  });

  it('letters beyond ASCII are compared without case too', async () => {
    await createGoal({ ctx: ctx(), input: { name: 'Äpfel' } });
    expect((await refusal('äpfel')).message).toContain('"Äpfel" already exists');
  });

  it('POST /api/v1/goals answers 409 with the same reason', async () => {
    await createGoal({ ctx: ctx(), input: { name: 'Phone lead' } });
    const t = await testApp(database, clock.now);
    const res = await t.call('/api/v1/goals', { method: 'POST', json: { name: 'PHONE LEAD' } });
    expect(res.status).toBe(409);
    expect((await res.json()).detail).toContain('use "Phone lead"');
  });

  it('an API item and a goal command naming a goal in another case get "did you mean"', async () => {
    await createGoal({ ctx: ctx(), input: { name: 'Purchase' } });
    const result = await submitBatch({
      ctx: ctx(),
      kind: 'conversions',
      body: {
        conversions: [
          { clickId: 'a'.repeat(32), conversionName: 'purchase', conversionTime: '2026-05-30T10:00:00Z' },
        ],
      },
    });
    expect(result.results[0]).toMatchObject({ status: 'rejected', errorCode: 'UNKNOWN_GOAL' });
    expect(result.results[0]!.message).toContain('did you mean "Purchase"?');
    const err = (await updateGoal({ ctx: ctx(), idOrName: 'purchase', patch: { status: 'paused' } }).catch(
      (e: unknown) => e,
    )) as AppError;
    expect(err.message).toBe(
      'No goal "purchase"; did you mean "Purchase"? Names match exactly, case and spaces included.',
    );
  });
});
