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

  it('public routes need no key', async () => {
    expect((await t.app.request('/health')).status).toBe(200);
    const page = await t.app.request('/');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Dry run');
  });

  it('the start page shows nothing user-supplied, neither raw nor escaped', async () => {
    // A hostile value in every field a user or an API client can write, each with its own marker.
    const hostile = (field: string) => `"><script>alert('xss-${field}')</script><img src=x onerror=alert(1)>`;
    const { sql } = await import('drizzle-orm');
    const { createApiKey } = await import('../../src/services/api-keys.ts');
    const { createGoal } = await import('../../src/services/goals.ts');
    await createApiKey({ ctx: t.ctx, name: hostile('key-name') });
    await createGoal({ ctx: t.ctx, input: { name: hostile('goal-name').slice(0, 100) } });
    // Sending accounts with auto-tagging off and a sign-in needed: the page's two warnings show.
    for (const [n, target] of [
      ['1', 'microsoft'],
      ['2', 'emulator'],
    ] as const)
      await database.query(sql`
        insert into accounts (name, target, origin, ms_customer_id, ms_account_id, api_base_url, oauth_token_url,
                              client_id, auth_status, auth_error, auto_tagging, pause_reason)
        values (${hostile(`account-name-${n}`)}, ${target}, 'database', ${hostile(`customer-id-${n}`)},
                ${hostile(`account-id-${n}`)}, ${hostile(`api-url-${n}`)}, ${hostile(`token-url-${n}`)},
                ${hostile(`client-id-${n}`)}, 'reconsent_needed', ${hostile(`auth-error-${n}`)}, false,
                ${hostile(`pause-reason-${n}`)})`);
    await database.query(sql`
      insert into uploads (kind, filename, status, error_message, time_zone, expires_at)
      values ('conversions', ${hostile('filename')}, 'failed', ${hostile('upload-error')}, ${hostile('time-zone')},
              now() + interval '1 day')`);
    const request = new Request(`http://localhost/?q=${encodeURIComponent(hostile('query'))}`, {
      headers: {
        'x-forwarded-host': hostile('forwarded-host'),
        referer: `http://example.com/${encodeURIComponent(hostile('referer'))}`,
        'accept-language': hostile('language'),
        cookie: `closeloop=${encodeURIComponent(hostile('cookie'))}`,
      },
    });
    const { createApp } = await import('../../src/http/app.ts');
    const { createLogger } = await import('../../src/log.ts');
    for (const target of ['emulator', 'microsoft'] as const) {
      const app = createApp({ ctx: t.ctx, log: createLogger('silent'), maxUploadBytes: 1024, target });
      const res = await app.request(request.clone());
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      const page = await res.text();
      expect(page).toContain('MSCLKID auto-tagging is off');
      expect(page).toContain('Sign-in needed');
      // Raw, a value would run; escaped (&lt;script&gt;…), it would still be a customer's data on a
      // public page. The markers are plain letters, so they show through any escaping.
      expect(page.match(/xss-[a-z0-9-]+/g) ?? [], `user-supplied values on the ${target} page`).toEqual([]);
      expect(page).not.toMatch(/<script|<img|onerror/i);
    }
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
