import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { type Database, migrationsFolder, openDatabase } from '../../src/db/client.ts';
import { claimBatch } from '../../src/submit/outbox.ts';
import { createPostgresDatabaseUrl, testDbKind } from '../helpers/db.ts';

/*
 * A database made by the previous release (its migrations only, data written with its schema) opened
 * by this code: migrated at start, every row intact, the new columns filled in, and the outbox works
 * on it. The previous release is 0.1.0, whose last migration is 0001_submission.
 */

const previousRelease = '0001_submission';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A migrations folder holding what the previous release shipped: its journal entries and their SQL. */
function previousMigrations(): string {
  const dir = mkdtempSync(join(tmpdir(), 'closeloop-previous-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta/_journal.json'), 'utf8')) as {
    entries: { tag: string }[];
  };
  const last = journal.entries.findIndex((e) => e.tag === previousRelease);
  expect(last, `${previousRelease} is in the journal`).toBeGreaterThanOrEqual(0);
  const entries = journal.entries.slice(0, last + 1);
  mkdirSync(join(dir, 'meta'));
  writeFileSync(join(dir, 'meta/_journal.json'), JSON.stringify({ ...journal, entries }));
  for (const e of entries) copyFileSync(join(migrationsFolder, `${e.tag}.sql`), join(dir, `${e.tag}.sql`));
  return dir;
}

const goalId = '11111111-1111-4111-8111-111111111111';
const dayAgo = "now() - interval '1 day'";

/** Rows as 0.1.0 wrote them: every ledger state the outbox cares about, with and without a backoff. */
const previousReleaseRows = [
  `insert into accounts (id, name, target, origin, is_default, ms_customer_id, ms_account_id)
   values ('22222222-2222-4222-8222-222222222222', 'Shop', 'emulator', 'dry-run', true, '1000', '2000')`,
  `insert into goals (id, name, revenue_type, currency, msads_goal_id, ready_at, created_at)
   values ('${goalId}', 'Purchase', 'variable', 'USD', '9001', ${dayAgo}, ${dayAgo})`,
  `insert into conversions (id, goal_id, goal_name, click_id, match_key, conversion_time, value, currency, state,
                            next_attempt_at, attempts, held_until, source, source_ref, created_at)
   values (1, '${goalId}', 'Purchase', md5('a'), md5('a'), ${dayAgo}, 10, 'USD', 'queued', null, 0, null, 'api', 'a', ${dayAgo}),
          (2, '${goalId}', 'Purchase', md5('b'), md5('b'), ${dayAgo}, 20, 'USD', 'queued', now() + interval '1 hour', 1, null, 'api', 'b', ${dayAgo}),
          (3, '${goalId}', 'Purchase', md5('c'), md5('c'), ${dayAgo}, 30, 'USD', 'held', null, 0, now() + interval '1 hour', 'api', 'c', ${dayAgo}),
          (4, '${goalId}', 'Purchase', md5('d'), md5('d'), ${dayAgo}, 40, 'USD', 'accepted', null, 1, null, 'api', 'd', ${dayAgo}),
          (5, '${goalId}', 'Purchase', md5('e'), md5('e'), ${dayAgo}, 50, 'USD', 'accepted', null, 1, null, 'api', 'e', ${dayAgo})`,
  "select setval('conversions_id_seq', 5)",
  `insert into adjustments (id, conversion_id, type, adjustment_time, value, currency, state, next_attempt_at,
                            attempts, source, source_ref, created_at)
   values (1, 5, 'restate', now() - interval '1 hour', 55, 'USD', 'queued', now() + interval '1 hour', 1, 'api', 'r', ${dayAgo}),
          (2, 4, 'retract', now() - interval '30 minutes', null, null, 'queued', null, 0, 'api', 'x', ${dayAgo})`,
  "select setval('adjustments_id_seq', 2)",
];

type Tables = Record<(typeof tables)[number], Record<string, unknown>[]>;
const tables = ['conversions', 'adjustments', 'goals', 'accounts'] as const;

/** Every row of the tables, as PostgreSQL writes it in JSON (the same from either client). */
async function rowsOf(select: (table: string) => Promise<Record<string, unknown>[]>): Promise<Tables> {
  const out = {} as Tables;
  for (const table of tables)
    out[table] = (await select(table)).map((r) => JSON.parse(String(r.row)) as Record<string, unknown>);
  return out;
}

/** The previous release's database, then opened with this code. */
async function upgraded(): Promise<{ database: Database; before: Tables }> {
  const folder = previousMigrations();
  const snapshot = async (query: (text: string) => Promise<Record<string, unknown>[]>) =>
    rowsOf((table) => query(`select row_to_json(t)::text as row from ${table} t order by id`));
  if (testDbKind() === 'pglite') {
    const client = await PGlite.create();
    await migratePglite(drizzlePglite(client), { migrationsFolder: folder });
    for (const statement of previousReleaseRows) await client.query(statement);
    const before = await snapshot(async (text) => (await client.query<Record<string, unknown>>(text)).rows);
    const dump = await client.dumpDataDir('none');
    await client.close();
    const database = await openDatabase({ kind: 'pglite', loadDataDir: dump });
    cleanups.push(() => database.close());
    return { database, before };
  }
  const { url, drop } = await createPostgresDatabaseUrl();
  cleanups.push(drop);
  const client = postgres(url, { max: 1, onnotice: () => {} });
  await migratePostgres(drizzlePostgres(client), { migrationsFolder: folder });
  for (const statement of previousReleaseRows) await client.unsafe(statement);
  const before = await snapshot(async (text) => [...(await client.unsafe(text))]);
  await client.end();
  const database = await openDatabase({ kind: 'postgres', url, max: 2 });
  cleanups.push(() => database.close());
  return { database, before };
}

/** Rows without the columns this release added, for comparison with the previous release's. */
const withoutNew = (rows: Record<string, unknown>[], added: string[]) =>
  rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !added.includes(k))));

describe(`a database of the previous release (${previousRelease})`, () => {
  it('is migrated when opened: every row intact, run_at and the adjustments’ goal filled in, the outbox working', async () => {
    const { database, before } = await upgraded();
    const query = (text: string) => database.query<Record<string, unknown>>(sql.raw(text));

    const applied = await query('select count(*)::int as n from drizzle.__drizzle_migrations');
    const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta/_journal.json'), 'utf8'));
    expect(Number(applied[0]?.n)).toBe(journal.entries.length);

    const after = await rowsOf((table) =>
      query(`select row_to_json(t)::text as row from ${table} t order by id`),
    );
    expect(withoutNew(after.conversions, ['run_at'])).toEqual(before.conversions);
    expect(withoutNew(after.adjustments, ['run_at', 'goal_id'])).toEqual(before.adjustments);
    expect(after.goals).toEqual(before.goals);
    expect(after.accounts).toEqual(before.accounts);

    // run_at: the end of the backoff where there is one, else 1970 (due at once).
    for (const table of ['conversions', 'adjustments']) {
      const wrong = await query(`
        select id from ${table}
         where run_at is null or run_at <> coalesce(next_attempt_at, timestamptz '1970-01-01T00:00:00Z')`);
      expect(wrong, `${table}.run_at`).toEqual([]);
    }
    const goals = await query('select distinct goal_id::text as goal from adjustments');
    expect(goals).toEqual([{ goal: goalId }]);

    // The outbox on the upgraded data: the due conversion, not the one in backoff nor the held one.
    const claim = () =>
      claimBatch(database, {
        accountId: '22222222-2222-4222-8222-222222222222',
        goalIds: [goalId],
        limit: 1000,
        submissionId: randomUUID(),
        now: new Date(),
      });
    const first = await claim();
    expect(first.table).toBe('conversions');
    expect(first.rows.map((r) => r.id)).toEqual([1]);
    // Then the adjustment of the accepted conversion that is due (the Restate waits out its backoff).
    const second = await claim();
    expect(second.table).toBe('adjustments');
    expect(second.rows.map((r) => r.id)).toEqual([2]);
    expect((await claim()).rows).toEqual([]);

    // An adjustment written after the upgrade gets its conversion's goal from the trigger.
    await query(`
      insert into adjustments (conversion_id, type, adjustment_time, state, source, source_ref)
      values (4, 'retract', now() - interval '10 minutes', 'held', 'api', 'new')`);
    const [fresh] = await query(`select goal_id::text as goal from adjustments where source_ref = 'new'`);
    expect(fresh?.goal).toBe(goalId);
    // It creates a PGlite database from the first migrations and migrates it through every later one:
    // 28–57 s on PGlite while the whole suite runs on 2 cores (nine migrations), against the 30 s default.
  }, 180_000);
});
