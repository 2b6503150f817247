import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { revokeApiKey } from '../../src/services/api-keys.ts';
import { testApp } from '../helpers/app.ts';
import { testClock } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';

const clock = testClock('2026-06-15T12:00:00Z');
let database: Database;
let t: Awaited<ReturnType<typeof testApp>>;

beforeAll(async () => {
  database = await createTestDatabase();
  t = await testApp(database, clock.now);
});
afterAll(() => database.close());

const routes: [string, string][] = [
  ['GET', '/api/v1/goals'],
  ['POST', '/api/v1/goals'],
  ['GET', '/api/v1/uploads'],
  ['POST', '/api/v1/uploads'],
  ['POST', '/api/v1/conversions'],
  ['POST', '/api/v1/adjustments'],
  ['GET', '/api/v1/uploads/00000000-0000-0000-0000-000000000000/results.csv'],
];

describe('every /api route needs a valid API key', () => {
  it.each(routes)('%s %s without a key → 401 problem+json', async (method, path) => {
    const res = await t.app.request(path, { method });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
    const body = await res.json();
    expect(body).toMatchObject({ status: 401, title: 'unauthorized' });
    expect(body.detail).toContain('closeloop keys create');
  });

  it.each(routes)('%s %s with a wrong key → 401', async (method, path) => {
    const res = await t.app.request(path, { method, headers: { authorization: 'Bearer cl_wrong' } });
    expect(res.status).toBe(401);
  });

  it('a malformed Authorization header → 401 saying the expected form', async () => {
    const res = await t.app.request('/api/v1/goals', { headers: { authorization: `Basic ${t.key}` } });
    expect(res.status).toBe(401);
    expect((await res.json()).detail).toContain('Bearer <key>');
  });

  it('a revoked key stops working', async () => {
    const { createApiKey } = await import('../../src/services/api-keys.ts');
    const { key, record } = await createApiKey({ ctx: t.ctx, name: 'short-lived' });
    expect((await t.call('/api/v1/goals', { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    await revokeApiKey({ ctx: t.ctx, idOrPrefix: record.id });
    expect((await t.call('/api/v1/goals', { headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
  });

  it('stores only a hash of the key', async () => {
    const rows = await database.query<{ hash: string; prefix: string }>(
      (await import('drizzle-orm')).sql`select hash, prefix from api_keys`,
    );
    for (const r of rows) {
      expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(r.hash).not.toContain(t.key);
    }
  });

  it('public routes need no key and the start page escapes nothing user-supplied', async () => {
    expect((await t.app.request('/health')).status).toBe(200);
    const page = await t.app.request('/');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Dry run');
  });

  it('unknown routes answer 404 problem+json', async () => {
    const res = await t.call('/api/v1/nope');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });

  it('goal names with markup come back as data, never as HTML', async () => {
    const res = await t.call('/api/v1/goals', {
      method: 'POST',
      json: { name: '<script>alert(1)</script>' },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toContain('application/json');
  });
});
