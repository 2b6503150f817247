import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { testApp } from '../helpers/app.ts';
import { testClock } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';

const clock = testClock('2026-06-01T00:00:00Z');
let database: Database;
let t: Awaited<ReturnType<typeof testApp>>;
const click = (c: string) => c.repeat(32);

beforeAll(async () => {
  database = await createTestDatabase();
  t = await testApp(database, clock.now);
});
afterAll(() => database.close());

describe('goals', () => {
  it('creates, lists, reads, pauses and resumes a goal', async () => {
    const created = await t.call('/api/v1/goals', {
      method: 'POST',
      json: {
        name: 'Purchase',
        revenue: { type: 'variable', value: 25, currency: 'usd' },
        conversionWindow: '30d',
      },
    });
    expect(created.status).toBe(201);
    const goal = await created.json();
    expect(goal).toMatchObject({
      name: 'Purchase',
      scope: 'account',
      revenue: { type: 'variable', value: 25, currency: 'USD' },
      countType: 'all',
      conversionWindowMinutes: 43_200,
      status: 'active',
      createdAt: '2026-06-01T00:00:00.000Z',
      acceptsConversionsFrom: '2026-06-01T02:00:00.000Z',
    });
    expect((await (await t.call('/api/v1/goals')).json()).goals).toHaveLength(1);
    expect((await (await t.call('/api/v1/goals/Purchase')).json()).id).toBe(goal.id);
    const paused = await t.call(`/api/v1/goals/${goal.id}`, { method: 'PATCH', json: { status: 'paused' } });
    expect((await paused.json()).status).toBe('paused');
    const resumed = await t.call('/api/v1/goals/Purchase', { method: 'PATCH', json: { status: 'active' } });
    expect((await resumed.json()).status).toBe('active');
  });

  it('refuses a duplicate name, a bad window and a fixed goal without a value, saying why', async () => {
    const dup = await t.call('/api/v1/goals', { method: 'POST', json: { name: 'Purchase' } });
    expect(dup.status).toBe(409);
    expect((await dup.json()).detail).toContain('already exists');
    const window = await t.call('/api/v1/goals', {
      method: 'POST',
      json: { name: 'W', conversionWindow: '91d' },
    });
    expect(window.status).toBe(422);
    expect((await window.json()).detail).toContain('1 minute to 90 days');
    const fixed = await t.call('/api/v1/goals', {
      method: 'POST',
      json: { name: 'F', revenue: { type: 'fixed' } },
    });
    expect((await fixed.json()).detail).toContain('fixed-value goal needs a value');
    const long = await t.call('/api/v1/goals', { method: 'POST', json: { name: 'x'.repeat(101) } });
    expect((await long.json()).detail).toContain('100 characters');
    const notJson = await t.call('/api/v1/goals', {
      method: 'POST',
      body: 'name=x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(notJson.status).toBe(415);
    const missing = await t.call('/api/v1/goals/Nope');
    expect(missing.status).toBe(404);
  });
});

describe('uploads over HTTP', () => {
  const csv = [
    'Microsoft Click Id,Conversion Name,Conversion Time,Conversion Value,Conversion Currency',
    `${click('a')},Purchase,2026-06-10 13:00:00,12.5,USD`,
    `${click('b')},Purchase,2026-06-10 14:00:00,1;2,USD`,
  ].join('\n');

  it('multipart upload → preview → apply → results.csv and errors only', async () => {
    clock.set('2026-06-15T12:00:00Z');
    const form = new FormData();
    form.set('file', new File([csv], 'june.csv', { type: 'text/csv' }));
    const res = await t.call('/api/v1/uploads', { method: 'POST', body: form });
    expect(res.status).toBe(201);
    const upload = await res.json();
    expect(upload).toMatchObject({
      filename: 'june.csv',
      kind: 'conversions',
      status: 'previewed',
      totalRows: 2,
      counts: { ok: 1, rejected: 1 },
    });
    expect(upload.links.apply).toBe(`/api/v1/uploads/${upload.id}/apply`);

    const rows = await (await t.call(`/api/v1/uploads/${upload.id}/rows?status=rejected`)).json();
    expect(rows.rows).toHaveLength(1);
    expect(rows.rows[0]).toMatchObject({
      row: 3,
      status: 'rejected',
      errorCode: 'INVALID_VALUE',
      errorColumn: 'Conversion Value',
    });
    expect(rows.rows[0].message).toMatch(/^Row 3, column D "Conversion Value"/);

    const applied = await (await t.call(`/api/v1/uploads/${upload.id}/apply`, { method: 'POST' })).json();
    expect(applied).toMatchObject({ status: 'applied_with_errors', counts: { queued: 1, rejected: 1 } });
    const again = await t.call(`/api/v1/uploads/${upload.id}/apply`, { method: 'POST' });
    expect(again.status).toBe(409);

    const results = await t.call(`/api/v1/uploads/${upload.id}/results.csv`);
    expect(results.headers.get('content-type')).toContain('text/csv');
    expect(results.headers.get('content-disposition')).toContain('june-results.csv');
    const lines = (await results.text()).trim().split('\r\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain('Row,Status,Error Code');
    expect(lines[1]).toContain('2,queued');
    expect(lines[1]).toContain('2026-06-10T13:00:00Z');
    const errors = (await (await t.call(`/api/v1/uploads/${upload.id}/results.csv?errors=only`)).text())
      .trim()
      .split('\r\n');
    expect(errors).toHaveLength(2);
    expect(errors[1]).toContain('INVALID_VALUE');

    const list = await (await t.call('/api/v1/uploads')).json();
    expect(list.uploads.map((u: { id: string }) => u.id)).toContain(upload.id);
  });

  it('streams a multipart adjustments file (kind field before the file) and explains a missing file field', async () => {
    const form = new FormData();
    form.set('kind', 'adjustments');
    form.set(
      'file',
      new File(
        [
          'Microsoft Click Id,Conversion Name,Conversion Time,Adjustment Type,Adjustment Time\n' +
            `${click('a')},Purchase,2026-06-10 13:00:00,Retract,2026-06-11 13:00:00\n`,
        ],
        'adj.csv',
      ),
    );
    const res = await t.call('/api/v1/uploads', { method: 'POST', body: form });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ kind: 'adjustments', filename: 'adj.csv', counts: { ok: 1 } });
    const noFile = new FormData();
    noFile.set('document', new File(['x'], 'x.csv'));
    const bad = await t.call('/api/v1/uploads', { method: 'POST', body: noFile });
    expect(bad.status).toBe(422);
    expect((await bad.json()).detail).toContain('multipart field named "file"');
  });

  it('takes a raw CSV body streamed, and refuses a file missing a column with 422 and the reason', async () => {
    const raw = await t.call('/api/v1/uploads?filename=raw.csv', {
      method: 'POST',
      body: csv.replace(click('a'), click('c')),
      headers: { 'content-type': 'text/csv' },
    });
    expect(raw.status).toBe(201);
    expect((await raw.json()).filename).toBe('raw.csv');
    const bad = await t.call('/api/v1/uploads', {
      method: 'POST',
      body: 'Conversion Name,Conversion Value\nx,1\n',
      headers: { 'content-type': 'text/csv' },
    });
    expect(bad.status).toBe(422);
    const body = await bad.json();
    expect(body.status).toBe('failed');
    expect(body.error.code).toBe('MISSING_REQUIRED_COLUMN');
    const rows = await (await t.call(`/api/v1/uploads/${body.id}/rows`)).json();
    expect(rows.rows).toHaveLength(0);
  });

  it('refuses a body over the size limit with 413', async () => {
    const big = 'x'.repeat(6 * 1024 * 1024);
    const res = await t.call('/api/v1/uploads', {
      method: 'POST',
      body: big,
      headers: { 'content-type': 'text/csv' },
    });
    expect(res.status).toBe(413);
  });
});

describe('JSON API', () => {
  it('accepts a batch, one outcome per item, duplicates recognised', async () => {
    const res = await t.call('/api/v1/conversions', {
      method: 'POST',
      json: {
        conversions: [
          {
            clickId: click('d'),
            conversionName: 'Purchase',
            conversionTime: '2026-06-12T10:00:00+02:00',
            conversionValue: 10,
          },
          {
            clickId: click('d'),
            conversionName: 'Purchase',
            conversionTime: '2026-06-12T08:00:00Z',
            conversionValue: 10,
          },
          { clickId: click('e'), conversionName: 'Purchase', conversionTime: '2026-06-12 08:00:00' },
          { email: ' Test@Contoso.com ', conversionName: 'Purchase', conversionTime: '2026-06-12T08:00:00Z' },
        ],
      },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.counts).toEqual({ queued: 2, duplicate: 1, rejected: 1 });
    expect(body.results[0]).toMatchObject({
      index: 0,
      status: 'queued',
      conversionTimeUtc: '2026-06-12T08:00:00Z',
    });
    expect(body.results[1]).toMatchObject({ index: 1, status: 'duplicate', errorCode: 'DUPLICATE_IN_FILE' });
    expect(body.results[2]).toMatchObject({
      status: 'rejected',
      errorCode: 'INVALID_TIME_FORMAT',
      field: 'conversionTime',
    });
    expect(body.results[2].message).toMatch(/^Item 2, field conversionTime/);
    expect(body.results[3]).toMatchObject({ status: 'queued' });
    // Plain emails are hashed on arrival and never stored.
    const stored = await database.query<{ hashed_email: string }>(
      (await import('drizzle-orm')).sql`select hashed_email from conversions where hashed_email is not null`,
    );
    expect(stored).toEqual([
      { hashed_email: 'f25ad364d33972379a7a4f4df33db142205f5c40eb19cfdb2fc5aaf117e10101' },
    ]);

    const again = await (
      await t.call('/api/v1/conversions', {
        method: 'POST',
        json: {
          conversions: [
            { clickId: click('d'), conversionName: 'Purchase', conversionTime: '2026-06-12T08:00:00Z' },
          ],
        },
      })
    ).json();
    expect(again.results[0]).toMatchObject({ status: 'duplicate', errorCode: 'DUPLICATE_IN_LEDGER' });
  });

  it('adjusts a conversion it knows, and says so when it does not', async () => {
    const res = await t.call('/api/v1/adjustments', {
      method: 'POST',
      json: {
        adjustments: [
          {
            clickId: click('d'),
            conversionName: 'Purchase',
            conversionTime: '2026-06-12T08:00:00Z',
            adjustmentType: 'Restate',
            adjustmentTime: '2026-06-13T08:00:00Z',
            adjustmentValue: '15.5',
            adjustmentCurrency: 'EUR',
          },
          {
            clickId: click('f'),
            conversionName: 'Purchase',
            conversionTime: '2026-06-12T08:00:00Z',
            adjustmentType: 'Retract',
            adjustmentTime: '2026-06-13T08:00:00Z',
          },
        ],
      },
    });
    const body = await res.json();
    expect(body.results.map((r: { status: string }) => r.status)).toEqual(['queued', 'rejected']);
    expect(body.results[1].errorCode).toBe('ADJUSTMENT_NO_MATCHING_CONVERSION');
  });

  it('refuses malformed batches as a whole with what is wrong', async () => {
    const tooMany = Array.from({ length: 1001 }, () => ({
      clickId: click('a'),
      conversionName: 'Purchase',
      conversionTime: '2026-06-12T08:00:00Z',
    }));
    const res = await t.call('/api/v1/conversions', { method: 'POST', json: { conversions: tooMany } });
    expect(res.status).toBe(422);
    expect((await res.json()).detail).toContain('1000');
    const typo = await t.call('/api/v1/conversions', {
      method: 'POST',
      json: { conversions: [{ clickid: 'x', conversionName: 'P', conversionTime: 'x' }] },
    });
    expect(typo.status).toBe(422);
    expect((await typo.json()).detail).toMatch(/clickid/);
    const broken = await t.call('/api/v1/conversions', {
      method: 'POST',
      body: '{"conversions": [',
      headers: { 'content-type': 'application/json' },
    });
    expect(broken.status).toBe(400);
  });
});
