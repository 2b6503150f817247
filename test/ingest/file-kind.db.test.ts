import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { applyUpload } from '../../src/ingest/apply.ts';
import { previewUpload } from '../../src/ingest/preview.ts';
import { createGoal } from '../../src/services/goals.ts';
import { testApp } from '../helpers/app.ts';
import { testClock, testContext, textInput } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';

/**
 * An adjustments file read as conversions looks like the conversions it adjusts: every row would come out
 * "duplicate" and nothing would be adjusted. The header says which kind a file is.
 */
const clock = testClock('2026-06-01T00:00:00Z');
let database: Database;
const ctx = () => testContext(database, clock.now);
const click = (c: string) => c.repeat(32);
const conversions = [
  'Microsoft Click Id,Conversion Name,Conversion Time,Conversion Value',
  `${click('a')},Purchase,2026-06-10 10:00:00,100`,
  `${click('b')},Purchase,2026-06-10 11:00:00,200`,
  `${click('c')},Purchase,2026-06-10 12:00:00,300`,
].join('\n');
const adjustments = [
  'Microsoft Click Id,Conversion Name,Conversion Time,Adjustment Type,Adjustment Time,Adjustment Value',
  `${click('a')},Purchase,2026-06-10 10:00:00,Restate,2026-06-11 10:00:00,90`,
  `${click('b')},Purchase,2026-06-10 11:00:00,Retract,2026-06-11 10:00:00,`,
  `${click('c')},Purchase,2026-06-10 12:00:00,Restate,2026-06-11 10:00:00,250.5`,
].join('\n');

beforeAll(async () => {
  database = await createTestDatabase();
  await createGoal({ ctx: ctx(), input: { name: 'Purchase' } });
  clock.set('2026-06-15T12:00:00Z');
  const upload = await previewUpload({ ctx: ctx(), input: textInput(conversions), filename: 'c.csv' });
  expect(upload.kind).toBe('conversions');
  await applyUpload({ ctx: ctx(), uploadId: upload.id });
});
afterAll(() => database.close());

describe('the kind of a file', () => {
  it('an adjustments file uploaded without a kind is read as adjustments, not as 3 duplicates', async () => {
    const upload = await previewUpload({ ctx: ctx(), input: textInput(adjustments), filename: 'a.csv' });
    expect(upload.status).toBe('previewed');
    expect(upload.counts).toEqual({ ok: 3 });
    expect(upload.kind).toBe('adjustments');
    const applied = await applyUpload({ ctx: ctx(), uploadId: upload.id });
    expect(applied.counts).toEqual({ queued: 3 });
  });

  it('an adjustments file imported as conversions is refused, saying what it is', async () => {
    const upload = await previewUpload({
      ctx: ctx(),
      input: textInput(adjustments),
      filename: 'a.csv',
      kind: 'conversions',
    });
    expect(upload.status).toBe('failed');
    expect(upload.errorCode).toBe('WRONG_FILE_KIND');
    expect(upload.errorMessage).toContain('This is an adjustments file');
    expect(upload.errorMessage).toContain('"Adjustment Type" and "Adjustment Time"');
  });

  it('a conversions file imported as adjustments is refused, saying what it is', async () => {
    const upload = await previewUpload({
      ctx: ctx(),
      input: textInput(conversions),
      filename: 'c.csv',
      kind: 'adjustments',
    });
    expect(upload.status).toBe('failed');
    expect(upload.errorCode).toBe('WRONG_FILE_KIND');
    expect(upload.errorMessage).toMatch(/^This is a conversions file: .*\(without --adjustments/);
  });

  it('POST /api/v1/uploads without kind reads the header too', async () => {
    const t = await testApp(database, clock.now);
    const form = new FormData();
    form.append(
      'file',
      new Blob([adjustments.replaceAll('2026-06-11 10:00:00', '2026-06-12 10:00:00')]),
      'a.csv',
    );
    const res = await t.call('/api/v1/uploads', { method: 'POST', body: form });
    expect(res.status).toBe(201);
    const upload = await res.json();
    expect(upload).toMatchObject({ kind: 'adjustments', counts: { ok: 3 } });
    const wrong = new FormData();
    wrong.append('kind', 'adjustments');
    wrong.append('file', new Blob([conversions]), 'c.csv');
    const refused = await t.call('/api/v1/uploads', { method: 'POST', body: wrong });
    expect(refused.status).toBe(422);
    expect(await refused.json()).toMatchObject({ error: { code: 'WRONG_FILE_KIND' } });
  });
});
