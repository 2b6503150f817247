import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { testApp } from '../helpers/app.ts';
import { createTestDatabase } from '../helpers/db.ts';

let database: Database;
let t: Awaited<ReturnType<typeof testApp>>;
const created: string[] = [];

/** Two files and two API batches, all at the same instant: the page order must not depend on time alone. */
beforeAll(async () => {
  database = await createTestDatabase();
  const now = new Date('2026-06-01T10:00:00Z');
  t = await testApp(database, () => now);
  const csv =
    'Microsoft Click Id,Conversion Name,Conversion Time\n' +
    `${'a'.repeat(32)},Purchase,2026-06-01 09:00:00\n`;
  for (const name of ['one.csv', 'two.csv']) {
    const res = await t.call(`/api/v1/uploads?filename=${name}`, { method: 'POST', body: csv });
    created.push((await res.json()).id);
  }
  for (const kind of ['conversions', 'adjustments'] as const) {
    const item = {
      clickId: 'b'.repeat(32),
      conversionName: 'Purchase',
      conversionTime: '2026-06-01T09:00:00Z',
    };
    const body =
      kind === 'conversions'
        ? { conversions: [item] }
        : { adjustments: [{ ...item, adjustmentType: 'Retract', adjustmentTime: '2026-06-01T09:30:00Z' }] };
    const res = await t.call(`/api/v1/${kind}`, { method: 'POST', json: body });
    created.push((await res.json()).requestId);
  }
});
afterAll(async () => {
  await database?.close();
});

describe('GET /api/v1/uploads', () => {
  it('lists files and API batches, newest first, in pages that follow `next` without a gap or a repeat', async () => {
    const seen: { id: string; source: string; kind: string }[] = [];
    let next: string | null = '/api/v1/uploads?limit=3';
    let pages = 0;
    while (next) {
      const res = await t.call(next);
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        uploads: { id: string; source: string; kind: string }[];
        next: string | null;
      };
      seen.push(...body.uploads);
      next = body.next;
      pages++;
    }
    expect(pages).toBe(2);
    expect(seen.map((u) => u.id).sort()).toEqual([...created].sort());
    expect(
      seen
        .filter((u) => u.source === 'api')
        .map((u) => u.kind)
        .sort(),
    ).toEqual(['adjustments', 'conversions']);
    expect(seen.filter((u) => u.source === 'file')).toHaveLength(2);
  });

  it('filters by source and status, and answers 400 with the reason for a bad page request', async () => {
    const api = await (await t.call('/api/v1/uploads?source=api')).json();
    expect(api.uploads.map((u: { id: string }) => u.id).sort()).toEqual(created.slice(2).sort());
    expect(api.next).toBe(null);
    const previewed = await (await t.call('/api/v1/uploads?status=previewed')).json();
    expect(previewed.uploads.map((u: { id: string }) => u.id).sort()).toEqual(created.slice(0, 2).sort());
    const byTime = await (await t.call('/api/v1/uploads?before=2026-06-01T10:00:00Z')).json();
    expect(byTime.uploads).toEqual([]);
    for (const [query, detail] of [
      ['limit=1.5', 'Invalid query parameter: limit: must be a whole number from 1 to 1000.'],
      ['limit=0', 'Invalid query parameter: limit: must be a whole number from 1 to 1000.'],
      ['source=crm', 'Invalid query parameter: source: must be one of file, api.'],
      [
        'status=done',
        'Invalid query parameter: status: must be one of previewing, previewed, applying, applied, applied_with_errors, failed.',
      ],
      [
        'before=yesterday',
        'before must be an upload id (from "next") or an ISO time like 2026-06-01T10:00:00Z; got "yesterday".',
      ],
    ]) {
      const res = await t.call(`/api/v1/uploads?${query}`);
      expect(res.status, query).toBe(400);
      expect((await res.json()).detail, query).toBe(detail);
    }
    const gone = await t.call('/api/v1/uploads?before=00000000-0000-4000-8000-000000000000');
    expect(gone.status).toBe(400);
    expect((await gone.json()).detail).toContain('start again from the first page');
  });
});
