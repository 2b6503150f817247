import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { applyUpload } from '../../src/ingest/apply.ts';
import { previewUpload } from '../../src/ingest/preview.ts';
import { resultsCsv } from '../../src/ingest/results.ts';
import { createGoal } from '../../src/services/goals.ts';
import { testClock, testContext, textInput } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';

const clock = testClock('2026-06-15T12:00:00Z');
let database: Database;
const ctx = () => testContext(database, clock.now);
const clickA = 'a'.repeat(32);
const clickB = 'b'.repeat(32);

beforeAll(async () => {
  database = await createTestDatabase();
  clock.set('2026-06-01T00:00:00Z');
  await createGoal({
    ctx: ctx(),
    input: { name: 'Purchase', revenue: { type: 'variable', value: 10, currency: 'USD' } },
  });
  await createGoal({ ctx: ctx(), input: { name: 'Paused', status: 'paused' } });
  clock.set('2026-06-15T12:00:00Z');
});
afterAll(() => database.close());

async function collect(gen: AsyncGenerator<string>) {
  let s = '';
  for await (const part of gen) s += part;
  return s;
}

describe('upload → preview → apply → results', () => {
  it('previews every row with an outcome and applies the valid ones to the ledger', async () => {
    const csv = [
      'Parameters:TimeZone=EasternTimeUSCanada',
      'Microsoft Click Id,Conversion Name,Conversion Time,Conversion Value,Conversion Currency,Extra',
      `${clickA},Purchase,06/10/2026 1:00:00 PM,12.50,usd,x`,
      `${clickA},Purchase,2026-06-10 13:00:00,12.50,USD,`,
      `${clickB},Purchase,2026-06-10T18:00:00+0100,7,,`,
      `${clickB},Nope,2026-06-10 10:00:00,7,,`,
      `${clickB},Paused,2026-06-10 10:00:00,7,,`,
      `${clickB},Purchase,2026-01-10 10:00:00,7,,`,
      `${clickB},Purchase,2026-06-11 10:00:00,"12,50",,`,
    ].join('\n');
    const upload = await previewUpload({
      ctx: ctx(),
      input: textInput(csv),
      filename: 'a.csv',
      kind: 'conversions',
    });
    expect(upload.status).toBe('previewed');
    expect(upload.totalRows).toBe(7);
    expect(upload.unknownColumns).toEqual([{ name: 'Extra', column: 6 }]);
    expect(upload.counts).toEqual({ ok: 2, duplicate: 1, rejected: 3, expired: 1 });
    const preview = await collect(resultsCsv(database, upload));
    expect(preview).toContain('DUPLICATE_IN_FILE');
    expect(preview).toContain('UNKNOWN_GOAL');
    expect(preview).toContain('VALUE_COMMA_DECIMAL');
    // Nothing is in the ledger before apply.
    expect(await database.query(sql`select count(*)::int as n from conversions`)).toEqual([{ n: 0 }]);

    const applied = await applyUpload({ ctx: ctx(), uploadId: upload.id });
    expect(applied.status).toBe('applied_with_errors');
    expect(applied.counts).toEqual({ queued: 2, duplicate: 1, rejected: 3, expired: 1 });
    const ledger = await database.query<{ state: string; conversion_time: Date; n: number }>(
      sql`select state, count(*)::int as n from conversions group by state order by state`,
    );
    expect(ledger).toEqual([
      { state: 'duplicate', n: 1 },
      { state: 'expired', n: 1 },
      { state: 'queued', n: 2 },
    ]);
    const [first] = await database.query<{ t: string }>(
      sql`select to_char(conversion_time at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as t from conversions where upload_row = 3`,
    );
    // 1:00 PM Eastern daylight time is 17:00 UTC.
    expect(first!.t).toBe('2026-06-10 17:00:00');

    // The same file again: every valid row is a duplicate of the ledger, never sent twice.
    const again = await previewUpload({
      ctx: ctx(),
      input: textInput(csv),
      filename: 'a.csv',
      kind: 'conversions',
    });
    expect(again.counts).toEqual({ duplicate: 4, rejected: 3 });
    const errorsOnly = await collect(resultsCsv(database, again, { errorsOnly: true }));
    expect(errorsOnly.trim().split('\r\n')).toHaveLength(8);
    await expect(applyUpload({ ctx: ctx(), uploadId: upload.id })).rejects.toThrow(/already applied/);
  });

  it('matches adjustments to the ledger and reports those that match nothing', async () => {
    const csv = [
      'Microsoft Click Id,Conversion Name,Conversion Time,Adjustment Type,Adjustment Time,Adjustment Value,Adjustment Currency',
      `${clickA},Purchase,2026-06-10 17:00:00,Restate,2026-06-12 10:00:00,20,USD`,
      `${clickA},Purchase,2026-06-10 17:00:01,Retract,2026-06-12 10:00:00,,`,
      `${clickA},Purchase,2026-06-10 17:00:00,Retract,2026-06-09 10:00:00,,`,
      `${clickA},Purchase,2026-06-10 17:00:00,Retract,2026-06-13 10:00:00,5,`,
      `${clickA},Purchase,2026-06-10 17:00:00,Retract,2026-06-13 10:00:00,,`,
    ].join('\r\n');
    const upload = await previewUpload({
      ctx: ctx(),
      input: textInput(csv),
      filename: 'adj.csv',
      kind: 'adjustments',
    });
    expect(upload.counts).toEqual({ ok: 2, rejected: 3 });
    const text = await collect(resultsCsv(database, upload, { errorsOnly: true }));
    expect(text).toContain('ADJUSTMENT_NO_MATCHING_CONVERSION');
    expect(text).toContain('ADJUSTMENT_BEFORE_CONVERSION');
    expect(text).toContain('ADJUSTMENT_VALUE_NOT_EXPECTED');
    const applied = await applyUpload({ ctx: ctx(), uploadId: upload.id });
    expect(applied.counts).toEqual({ queued: 2, rejected: 3 });
    expect(await database.query(sql`select type, state from adjustments order by id`)).toEqual([
      { type: 'restate', state: 'queued' },
      { type: 'retract', state: 'queued' },
    ]);
  });
});

describe('retention', () => {
  it('deletes uploads after 180 days but keeps their ledger rows, and fails interrupted previews', async () => {
    const { maintainUploads } = await import('../../src/ingest/results.ts');
    const { createUpload } = await import('../../src/ingest/stage.ts');
    const stuck = await createUpload(ctx(), { kind: 'conversions', filename: 'stuck.csv', source: 'file' });
    const before = await database.query<{ n: number }>(sql`select count(*)::int as n from conversions`);
    clock.advance(2 * 3600_000);
    expect(await maintainUploads(database, clock.now())).toEqual({ deleted: 0, interrupted: 1 });
    const [row] = await database.query<{ status: string; error_code: string }>(
      sql`select status, error_code from uploads where id = ${stuck.id}`,
    );
    expect(row).toEqual({ status: 'failed', error_code: 'INTERRUPTED' });
    clock.advance(181 * 86_400_000);
    const { deleted } = await maintainUploads(database, clock.now());
    expect(deleted).toBeGreaterThan(2);
    expect(await database.query(sql`select count(*)::int as n from uploads`)).toEqual([{ n: 0 }]);
    expect(await database.query(sql`select count(*)::int as n from upload_rows`)).toEqual([{ n: 0 }]);
    expect(await database.query(sql`select count(*)::int as n from conversions`)).toEqual(before);
  });
});
