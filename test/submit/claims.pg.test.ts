import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { claimBatch } from '../../src/submit/outbox.ts';
import { createPostgresDatabaseUrl } from '../helpers/db.ts';
import { addAccount, addGoal, queueConversions } from '../helpers/submit.ts';

// Two connection pools on one PostgreSQL stand for two submitter processes claiming at the same moment.
let first: Database;
let second: Database;
let drop: () => Promise<void>;

beforeAll(async () => {
  const created = await createPostgresDatabaseUrl();
  drop = created.drop;
  first = await openDatabase({ kind: 'postgres', url: created.url, max: 2 });
  second = await openDatabase({ kind: 'postgres', url: created.url, max: 2 });
});
afterAll(async () => {
  await first?.close();
  await second?.close();
  await drop?.();
});

describe('claims of one account from two processes', () => {
  it('take turns: 1,500 due rows go out as 1,000 + 500, never as two smaller batches', async () => {
    const account = await addAccount(first);
    const goalId = await addGoal(first, { name: 'Race' });
    for (let round = 0; round < 10; round++) {
      await first.query(sql`delete from conversions`);
      await queueConversions(first, { goalId, goalName: 'Race', count: 1500, salt: `r${round}` });
      const claim = (database: Database, n: number) =>
        claimBatch(database, {
          accountId: account.id,
          goalIds: [goalId],
          limit: 1000,
          submissionId: `00000000-0000-4000-8000-${String(round * 10 + n).padStart(12, '0')}`,
          now: new Date(),
        });
      const sizes = (await Promise.all([claim(first, 1), claim(second, 2)])).map((b) => b.rows.length);
      expect(sizes.sort((a, b) => b - a)).toEqual([1000, 500]);
    }
  });
});
