import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { conversionHistory } from '../../src/services/conversion-history.ts';
import { parseConversionFilters, searchConversions } from '../../src/services/conversion-search.ts';
import { conversionOutcomes } from '../../src/services/overview.ts';
import { testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';

const now = new Date('2026-06-15T12:00:00Z');
let database: Database;
const ctx = () => testContext(database, () => now);
const click = (c: string) => c.repeat(32);

async function insert(row: Record<string, unknown>): Promise<number> {
  const r: Record<string, unknown> = {
    goal_name: 'Purchase',
    value: 10,
    currency: 'USD',
    source: 'api',
    source_ref: 'api:1:0',
    ...row,
  };
  const [out] = await database.query<{ id: number }>(sql`
    insert into conversions (goal_name, click_id, match_key, conversion_time, value, currency, state, held_until,
                             error_code, error_name, message, duplicate_of, source, source_ref, submission_id,
                             accepted_at, click_time)
    values (${r.goal_name}, ${r.click_id}, ${r.click_id}, ${r.conversion_time}, ${r.value}, ${r.currency}, ${r.state},
            ${r.held_until ?? null}, ${r.error_code ?? null}, ${r.error_name ?? null}, ${r.message ?? null},
            ${r.duplicate_of ?? null}, ${r.source}, ${r.source_ref}, ${r.submission_id ?? null},
            ${r.accepted_at ?? null}, ${r.click_time ?? null})
    returning id`);
  return Number(out!.id);
}

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.close());

describe("a conversion's history", () => {
  it('has its call, its answer, its repeats and its adjustments; a held one says why and until when', async () => {
    const [call] = await database.query<{ id: string }>(sql`
      insert into submissions (account_id, operation, worker, items, accepted, outcome, tracking_id, started_at, finished_at)
      values (gen_random_uuid(), 'conversions', 'test', 1, 1, 'accepted', 'track-1', ${'2026-06-14T10:00:00Z'}, ${'2026-06-14T10:00:01Z'})
      returning id`);
    const id = await insert({
      click_id: click('a'),
      conversion_time: '2026-06-13T09:00:00Z',
      state: 'accepted',
      submission_id: call!.id,
      accepted_at: '2026-06-14T10:00:01Z',
      source: 'crm',
      source_ref: 'deal-42',
    });
    const dup = await insert({
      click_id: click('a'),
      conversion_time: '2026-06-13T09:00:00Z',
      state: 'duplicate',
      duplicate_of: id,
      source: 'call',
      source_ref: 'call-7',
    });
    await database.query(sql`
      insert into adjustments (conversion_id, type, adjustment_time, value, currency, state, source, source_ref)
      values (${id}, 'restate', ${'2026-06-14T11:00:00Z'}, 25, 'USD', 'queued', 'crm', 'deal-42:amount')`);
    const h = await conversionHistory({ ctx: ctx(), id });
    expect(h.carriedBy?.submission.trackingId).toBe('track-1');
    expect(h.duplicates.map((d) => d.id)).toEqual([dup]);
    expect(h.adjustments.map((a) => [a.adjustment.type, a.adjustment.state, a.carriedBy])).toEqual([
      ['restate', 'queued', null],
    ]);
    expect((await conversionHistory({ ctx: ctx(), id: dup })).duplicateOf?.id).toBe(id);

    const held = await insert({
      click_id: click('b'),
      conversion_time: '2026-06-15T11:30:00Z',
      click_time: '2026-06-15T11:20:00Z',
      state: 'held',
      held_until: '2026-06-15T12:20:00Z',
    });
    expect((await conversionHistory({ ctx: ctx(), id: held })).held).toBe(
      'held until 2026-06-15 12:20 UTC: Microsoft takes a conversion 1 hour after its click; closeloop sends it then.',
    );
    await expect(conversionHistory({ ctx: ctx(), id: 999_999 })).rejects.toThrow('No conversion 999999');
    // Another customer's conversion is not found either.
    await expect(conversionHistory({ ctx: testContext(database, () => now, 'other'), id })).rejects.toThrow(
      'No conversion',
    );
  });
});

describe('the conversions search', () => {
  it('filters by click ID (whole or its beginning), goal, source, state and day', async () => {
    const f = (q: Record<string, string>) =>
      searchConversions({ ctx: ctx(), filters: parseConversionFilters(q) });
    const ids = async (q: Record<string, string>) => (await f(q)).conversions.map((c) => c.clickId);
    expect(await ids({ clickId: click('a').toUpperCase() })).toEqual([click('a'), click('a')]);
    expect(await ids({ clickId: 'bbbb' })).toEqual([click('b')]);
    expect(await ids({ source: 'crm' })).toEqual([click('a')]);
    expect(await ids({ state: 'held' })).toEqual([click('b')]);
    expect(await ids({ from: '2026-06-15', to: '2026-06-15' })).toEqual([click('b')]);
    expect(await ids({ goal: 'Other' })).toEqual([]);
    expect(() => parseConversionFilters({ clickId: 'xyz' })).toThrow('32 hexadecimal characters');
    expect(() => parseConversionFilters({ from: '2026-06-02', to: '2026-06-01' })).toThrow('swap them');
    expect(() => parseConversionFilters({ state: 'gone' })).toThrow('State must be one of');
  });
});

describe('why fewer conversions', () => {
  it('counts every row of the period that did not count under one reason, and nothing twice', async () => {
    await insert({
      click_id: click('c'),
      conversion_time: '2026-06-14T08:00:00Z',
      state: 'rejected',
      error_code: '5604',
      error_name: 'OfflineConversionMicrosoftClickIdInvalid',
      message: 'fix the click ID',
    });
    await insert({ click_id: click('d'), conversion_time: '2026-06-14T08:00:00Z', state: 'queued' });
    await insert({
      click_id: click('e'),
      conversion_time: '2026-05-01T08:00:00Z',
      state: 'expired',
      error_code: 'CONVERSION_TOO_OLD',
    });
    const s = await conversionOutcomes({ ctx: ctx(), from: '2026-06-01', to: '2026-06-15' });
    expect(s.received).toBe(5);
    expect(s.accepted).toBe(1);
    expect(s.reasons.map((r) => [r.label, r.count, r.filters?.state, r.filters?.errorCode])).toEqual([
      ['Duplicate', 1, 'duplicate', undefined],
      ['Held', 1, 'held', undefined],
      ['Queued', 1, 'queued', undefined],
      ['Rejected: 5604 OfflineConversionMicrosoftClickIdInvalid', 1, 'rejected', '5604'],
    ]);
    expect(s.reasons.reduce((a, r) => a + r.count, 0)).toBe(s.received - s.accepted);
    expect(s.days.find((d) => d.day === '2026-06-14')?.counts).toEqual({ 'rejected 5604': 1, waiting: 1 });
    expect(s.days).toHaveLength(15);
  });
});
