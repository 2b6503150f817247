import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { createGoal, listGoals } from '../../src/services/goals.ts';
import { testContext } from '../helpers/context.ts';
import { createPostgresDatabaseUrl } from '../helpers/db.ts';

// Two connection pools on one PostgreSQL stand for two processes creating goals at the same moment.
let first: Database;
let second: Database;
let drop: () => Promise<void>;

beforeAll(async () => {
  const created = await createPostgresDatabaseUrl();
  drop = created.drop;
  first = await openDatabase({ kind: 'postgres', url: created.url, max: 4 });
  second = await openDatabase({ kind: 'postgres', url: created.url, max: 4 });
});
afterAll(async () => {
  await first?.close();
  await second?.close();
  await drop?.();
});

describe('goal names from two processes at once', () => {
  it('one spelling of a name wins; the others are refused (the unique index only knows exact names)', async () => {
    const now = () => new Date();
    for (let round = 0; round < 5; round++) {
      const spellings = ['Lead', 'lead', 'LEAD', 'lEaD', 'LeAd', 'leaD'].map((s) => `${s} ${round}`);
      const outcomes = await Promise.allSettled(
        spellings.map((name, i) =>
          createGoal({ ctx: testContext(i % 2 ? second : first, now), input: { name } }),
        ),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    }
    expect(await listGoals({ ctx: testContext(first, () => new Date()) })).toHaveLength(5);
  });
});
