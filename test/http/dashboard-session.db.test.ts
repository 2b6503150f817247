import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { createApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';
import { createApiKey, revokeApiKey } from '../../src/services/api-keys.ts';
import { createGoal } from '../../src/services/goals.ts';
import { testClock, testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';

/**
 * The dashboard's session and form guards, through the app's own request handler: who may sign in,
 * what the cookie is, that signing out and revoking a key end a session at once, that every POST
 * needs the session's CSRF token, and that user data comes back escaped.
 */
const clock = testClock('2026-06-15T12:00:00Z');
const adminPassword = 'correct horse battery staple';
let database: Database;
let app: ReturnType<typeof createApp>;
let key: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const ctx = testContext(database, clock.now);
  app = createApp({
    ctx,
    log: createLogger('silent'),
    maxUploadBytes: 1024 * 1024,
    target: 'emulator',
    adminPassword,
  });
  key = (await createApiKey({ ctx, name: 'dashboard' })).key;
});
afterAll(() => database.close());

function cookieOf(res: Response, name: string): string | undefined {
  const set = res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  return set?.split(';')[0]?.slice(name.length + 1);
}

async function signIn(secret: string, base = 'http://localhost') {
  const form = await app.request(`${base}/dashboard/sign-in`);
  const token = cookieOf(form, 'closeloop_sign_in')!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  return app.request(`${base}/dashboard/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `closeloop_sign_in=${token}` },
    body: new URLSearchParams({ _csrf: csrf, secret, next: '/dashboard/goals' }).toString(),
  });
}

async function session(secret = key) {
  const res = await signIn(secret);
  const cookie = `closeloop_session=${cookieOf(res, 'closeloop_session')}`;
  const page = (path: string) => app.request(path, { headers: { cookie } });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await (await page('/dashboard/goals')).text())![1]!;
  const post = (path: string, fields: Record<string, string>) =>
    app.request(path, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  return { res, cookie, page, post, csrf };
}

describe('signing in to the dashboard', () => {
  it('without a session, a page sends the browser to sign in and back', async () => {
    const res = await app.request('/dashboard/conversions?state=held');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(
      '/dashboard/sign-in?next=%2Fdashboard%2Fconversions%3Fstate%3Dheld',
    );
  });

  it('with an API key: an HttpOnly, SameSite=Strict cookie, Secure over HTTPS, and back to the page asked for', async () => {
    const res = await signIn(key);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/dashboard/goals');
    const set = res.headers.getSetCookie().find((c) => c.startsWith('closeloop_session='))!;
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/SameSite=Strict/);
    expect(set).not.toMatch(/Secure/);
    const https = await signIn(key, 'https://closeloop.example');
    expect(https.headers.getSetCookie().find((c) => c.startsWith('closeloop_session='))).toMatch(/; Secure/);
    // Only a hash of the cookie's token is stored.
    const rows = await database.query<{ token_hash: string }>(sql`select token_hash from dashboard_sessions`);
    const token = cookieOf(res, 'closeloop_session')!;
    expect(rows.map((r) => r.token_hash)).not.toContain(token);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.token_hash))).toBe(true);
  });

  it('with the admin password', async () => {
    const { page } = await session(adminPassword);
    expect((await page('/dashboard')).status).toBe(200);
  });

  it('refuses a wrong secret with 401 and says what works', async () => {
    const res = await signIn('cl_not-a-key');
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('neither an active API key nor the admin password');
    expect(res.headers.getSetCookie().some((c) => c.startsWith('closeloop_session='))).toBe(false);
  });

  it('refuses a sign-in whose form token does not match its cookie (login CSRF)', async () => {
    const res = await app.request('/dashboard/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'closeloop_sign_in=abc' },
      body: new URLSearchParams({ _csrf: 'xyz', secret: key }).toString(),
    });
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie().some((c) => c.startsWith('closeloop_session='))).toBe(false);
  });

  it('never sends the browser elsewhere after signing in (no open redirect)', async () => {
    const form = await app.request('/dashboard/sign-in');
    const token = cookieOf(form, 'closeloop_sign_in')!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
    for (const next of ['https://evil.example/', '//evil.example/', '/dashboard/\\evil', '/api/v1/goals']) {
      const res = await app.request('/dashboard/sign-in', {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          cookie: `closeloop_sign_in=${token}`,
        },
        body: new URLSearchParams({ _csrf: csrf, secret: key, next }).toString(),
      });
      expect(res.headers.get('location')).toBe('/dashboard');
    }
  });

  it('after 10 failed sign-ins from one address, refuses even the right secret with 429 for 15 minutes', async () => {
    clock.advance(16 * 60_000); // the earlier test's failure has left the window
    for (let i = 0; i < 10; i++) expect((await signIn(`wrong password ${i}`)).status).toBe(401);
    const blocked = await signIn(adminPassword);
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBe('900');
    expect(await blocked.text()).toContain(
      'Too many failed sign-ins from your address: try again in 15 min.',
    );
    expect(blocked.headers.getSetCookie().some((c) => c.startsWith('closeloop_session='))).toBe(false);
    clock.advance(14 * 60_000);
    expect((await signIn(key)).status).toBe(429);
    clock.advance(61_000); // the first failure has left the window: one more try
    expect((await signIn(adminPassword)).status).toBe(303);
    // A success forgets the failures.
    expect((await signIn('wrong again')).status).toBe(401);
    expect((await signIn(key)).status).toBe(303);
  });
});

describe('a session ends', () => {
  it('when the user signs out: the same cookie opens nothing any more', async () => {
    const { page, post, csrf } = await session();
    expect((await page('/dashboard/goals')).status).toBe(200);
    const out = await post('/dashboard/sign-out', { _csrf: csrf });
    expect(out.status).toBe(303);
    expect(out.headers.getSetCookie().find((c) => c.startsWith('closeloop_session='))).toMatch(/Max-Age=0/);
    expect((await page('/dashboard/goals')).status).toBe(303);
  });

  it('after 12 hours', async () => {
    const { page } = await session();
    clock.advance(12 * 3600_000 - 1000);
    expect((await page('/dashboard')).status).toBe(200);
    clock.advance(2000);
    expect((await page('/dashboard')).status).toBe(303);
  });

  it('when the API key it was opened with is revoked', async () => {
    const ctx = testContext(database, clock.now);
    const other = await createApiKey({ ctx, name: 'to revoke' });
    const { page } = await session(other.key);
    expect((await page('/dashboard')).status).toBe(200);
    await revokeApiKey({ ctx, idOrPrefix: other.record.id });
    expect((await page('/dashboard')).status).toBe(303);
  });
});

describe('every form needs the session CSRF token', () => {
  it('a POST without the token or with a wrong one is refused with 403 and changes nothing', async () => {
    const { post, csrf } = await session();
    for (const fields of [{}, { _csrf: 'wrong' }, { _csrf: `${csrf}x` }] as Record<string, string>[]) {
      const res = await post('/dashboard/goals', { ...fields, name: 'Forged', revenueType: 'none' });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('security token is missing or wrong');
    }
    const rows = await database.query<{ n: number }>(
      sql`select count(*)::int as n from goals where name = 'Forged'`,
    );
    expect(Number(rows[0]!.n)).toBe(0);
    // The token of another session does not do either.
    const other = await session();
    expect(
      (await post('/dashboard/goals', { _csrf: other.csrf, name: 'Forged', revenueType: 'none' })).status,
    ).toBe(403);
    // With it, the goal is created.
    const ok = await post('/dashboard/goals', {
      _csrf: csrf,
      name: 'Made here',
      revenueType: 'none',
      window: '30d',
    });
    expect(ok.status).toBe(303);
  });

  it('the upload form too: a multipart POST with a wrong token is refused before the file is read', async () => {
    const { cookie } = await session();
    const body = new FormData();
    body.set('_csrf', 'wrong');
    body.set('file', new Blob(['Microsoft Click Id,Conversion Name,Conversion Time\n']), 'x.csv');
    const res = await app.request('/dashboard/uploads', { method: 'POST', headers: { cookie }, body });
    expect(res.status).toBe(403);
    const rows = await database.query<{ n: number }>(sql`select count(*)::int as n from uploads`);
    expect(Number(rows[0]!.n)).toBe(0);
  });

  it('a form of another type (JSON, text) is refused', async () => {
    const { cookie, csrf } = await session();
    const res = await app.request('/dashboard/goals', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ _csrf: csrf, name: 'Json' }),
    });
    expect(res.status).toBe(403);
  });
});

describe('pages', () => {
  it('carry a Content-Security-Policy without inline scripts and are not cached', async () => {
    const { page } = await session();
    for (const path of ['/', '/dashboard/sign-in', '/dashboard', '/dashboard/goals']) {
      const res = path === '/dashboard/sign-in' ? await app.request(path) : await page(path);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).not.toContain('unsafe-inline');
      expect(await res.text(), path).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    }
    expect((await page('/dashboard')).headers.get('cache-control')).toBe('no-store');
  });

  it('show user data escaped: a goal named <script> is text', async () => {
    const ctx = testContext(database, clock.now);
    await createGoal({ ctx, input: { name: `<script>alert("x")</script>"'&` } });
    const { page } = await session();
    for (const path of ['/dashboard/goals', '/dashboard/conversions']) {
      const text = await (await page(path)).text();
      expect(text, path).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&quot;&#39;&amp;');
      expect(text, path).not.toContain('<script>alert');
    }
    // A search value is echoed into the form escaped as well.
    const search = await (
      await page(`/dashboard/conversions?goal=${encodeURIComponent('"><script>alert(1)</script>')}`)
    ).text();
    expect(search).not.toContain('<script>alert(1)');
  });
});
