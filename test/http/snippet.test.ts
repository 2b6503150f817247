import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSnippetRoutes } from '../../src/http/snippet.ts';

const CLICK_ID = '0123456789abcdef0123456789abcdef';
const js = '(()=>{/* iife */})();';
const mjs = 'export function init(){}';
const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

const distDir = mkdtempSync(join(tmpdir(), 'closeloop-snippet-'));
writeFileSync(join(distDir, 'closeloop.js'), js);
writeFileSync(join(distDir, 'closeloop.mjs'), mjs);
afterAll(() => rmSync(distDir, { recursive: true, force: true }));

const app = createSnippetRoutes({ distDir });
const origin = 'http://www.example.com';

function post(body: string, headers: Record<string, string> = {}) {
  return app.request('http://www.example.com/msclkid', {
    method: 'POST',
    body,
    headers: {
      'Content-Type': 'text/plain;charset=UTF-8',
      Origin: origin,
      'Sec-Fetch-Site': 'same-origin',
      ...headers,
    },
  });
}

/** Set-Cookie headers by cookie name. */
function cookies(res: Response): Record<string, string> {
  return Object.fromEntries(
    res.headers.getSetCookie().map((line) => [line.slice(0, line.indexOf('=')), line]),
  );
}

describe('GET /snippet.js and /snippet.mjs', () => {
  it('serves the built IIFE with an ETag, a short cache and CORS-safe headers', async () => {
    const res = await app.request('/snippet.js');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(js);
    expect(res.headers.get('Content-Type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('ETag')).toBe(`"${hash(js)}"`);
    expect(res.headers.get('Cache-Control')).toBe('public, max-age=300, stale-while-revalidate=86400');
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(res.headers.get('Cross-Origin-Resource-Policy')).toBe('cross-origin');
    expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff');
  });

  it('serves the ES module', async () => {
    const res = await app.request('/snippet.mjs');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(mjs);
    expect(res.headers.get('ETag')).toBe(`"${hash(mjs)}"`);
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const res = await app.request('/snippet.js', { headers: { 'If-None-Match': `W/"x", "${hash(js)}"` } });
    expect(res.status).toBe(304);
    expect(await res.text()).toBe('');
  });

  it('serves the content-hashed URLs as immutable', async () => {
    for (const [path, body] of [
      [`/snippet.${hash(js)}.js`, js],
      [`/snippet.${hash(mjs)}.mjs`, mjs],
    ] as const) {
      const res = await app.request(path);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(body);
      expect(res.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable');
    }
  });

  it('redirects an outdated hash to the current file, relative to any proxy prefix', async () => {
    const res = await app.request('/snippet.000000000000.js');
    expect(res.status).toBe(302);
    expect(res.headers.get('Location')).toBe('snippet.js');
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect((await app.request('/snippet.000000000000.mjs')).headers.get('Location')).toBe('snippet.mjs');
  });

  it('answers HEAD without a body', async () => {
    const res = await app.request('/snippet.js', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });

  it('says how to build the snippet when dist is missing', async () => {
    const unbuilt = createSnippetRoutes({ distDir: join(distDir, 'nowhere') });
    const res = await unbuilt.request('/snippet.js');
    expect(res.status).toBe(503);
    expect(res.headers.get('Content-Type')).toBe('application/problem+json');
    const body = await res.text();
    expect(JSON.parse(body)).toMatchObject({
      status: 503,
      detail: expect.stringContaining('npm run build:snippet'),
    });
    // The server's folders stay private.
    expect(body).not.toContain(distDir);
  });

  it('rejects a bad cookieDays option by name', () => {
    expect(() => createSnippetRoutes({ distDir, cookieDays: 0 })).toThrow(/`cookieDays`.*got `0`/);
    expect(() => createSnippetRoutes({ distDir, cookieDays: 1.5 })).toThrow(TypeError);
  });
});

describe('POST /msclkid: happy path', () => {
  it('answers 204 with the cookies the snippet writes, readable by scripts', async () => {
    const res = await post(`msclkid=${CLICK_ID}&days=90&time=&domain=`);
    expect(res.status).toBe(204);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const set = cookies(res);
    expect(set.msclkid).toBe(`msclkid=${CLICK_ID}; Max-Age=7776000; Path=/; SameSite=Lax`);
    // No time sent: the time cookie is removed rather than left from an older click.
    expect(set.msclkid_time).toBe('msclkid_time=; Max-Age=0; Path=/; SameSite=Lax');
    expect(set.msclkid).not.toMatch(/HttpOnly/i);
  });

  it('sets the click time, the days asked for and the shared domain', async () => {
    const time = `${new Date(Date.now() - 3_600_000).toISOString().slice(0, 19)}Z`;
    const res = await post(`msclkid=${CLICK_ID}&days=30&time=${time}&domain=example.com`);
    expect(res.status).toBe(204);
    const set = cookies(res);
    expect(set.msclkid).toBe(
      `msclkid=${CLICK_ID}; Max-Age=2592000; Path=/; SameSite=Lax; Domain=example.com`,
    );
    expect(set.msclkid_time).toBe(
      `msclkid_time=${time}; Max-Age=2592000; Path=/; SameSite=Lax; Domain=example.com`,
    );
  });

  it('stores the click ID exactly as the snippet has it, so the snippet sees the same click', async () => {
    const res = await post(`msclkid=${CLICK_ID.toUpperCase()}`);
    expect(res.status).toBe(204);
    expect(cookies(res).msclkid).toMatch(new RegExp(`^msclkid=${CLICK_ID.toUpperCase()};`));
  });

  it('caps days at cookieDays, which is also the default', async () => {
    const short = createSnippetRoutes({ distDir, cookieDays: 7 });
    const request = (body: string) =>
      short.request('http://www.example.com/msclkid', { method: 'POST', body, headers: { Origin: origin } });
    expect(cookies(await request(`msclkid=${CLICK_ID}&days=90`)).msclkid).toContain('Max-Age=604800;');
    expect(cookies(await request(`msclkid=${CLICK_ID}`)).msclkid).toContain('Max-Age=604800;');
  });

  it('marks the cookies Secure when the page is https, also behind a TLS-terminating proxy', async () => {
    const viaOrigin = await post(`msclkid=${CLICK_ID}`, { Origin: 'https://www.example.com' });
    expect(cookies(viaOrigin).msclkid).toMatch(/; Secure$/);
    const viaProxy = await app.request('http://www.example.com/msclkid', {
      method: 'POST',
      body: `msclkid=${CLICK_ID}`,
      headers: { 'X-Forwarded-Proto': 'https' },
    });
    expect(viaProxy.status).toBe(204);
    expect(cookies(viaProxy).msclkid).toMatch(/; Secure$/);
    expect(cookies(await post(`msclkid=${CLICK_ID}`)).msclkid).not.toMatch(/Secure/);
  });

  it('drops a click time that cannot belong to a recent click', async () => {
    for (const time of [
      '2001-01-01T00:00:00Z',
      '2999-01-01T00:00:00Z',
      '2024-13-45T99:99:99Z',
      'yesterday',
    ]) {
      const res = await post(`msclkid=${CLICK_ID}&time=${encodeURIComponent(time)}`);
      expect(res.status).toBe(204);
      expect(cookies(res).msclkid_time).toBe('msclkid_time=; Max-Age=0; Path=/; SameSite=Lax');
    }
  });
});

describe('POST /msclkid: errors', () => {
  it.each([
    ['31 characters', `msclkid=${CLICK_ID.slice(1)}`],
    ['33 characters', `msclkid=${CLICK_ID}0`],
    ['the UET cookie value', `msclkid=_uet${CLICK_ID}`],
    ['markup', `msclkid=${encodeURIComponent(`<script>alert(1)</script>${CLICK_ID}`)}`],
    ['padding', `msclkid=+${CLICK_ID}+`],
    ['cookie attributes', `msclkid=${CLICK_ID}%3B+Domain%3Devil.com`],
    ['nothing', 'msclkid='],
    ['no field', ''],
  ])('rejects a click ID with %s and never echoes it', async (_, body) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.headers.get('Content-Type')).toBe('application/problem+json');
    expect(res.headers.getSetCookie()).toEqual([]);
    const text = await res.text();
    expect(text).not.toMatch(/script|_uet|evil|0123456789abcdef/);
  });

  it('rejects unknown and repeated fields', async () => {
    expect((await post(`msclkid=${CLICK_ID}&path=/admin`)).status).toBe(400);
    expect((await post(`msclkid=${CLICK_ID}&msclkid=${CLICK_ID}`)).status).toBe(400);
  });

  it('rejects days that are not a whole positive number', async () => {
    for (const days of ['0', '-1', '1.5', 'abc', '1e3']) {
      expect((await post(`msclkid=${CLICK_ID}&days=${days}`)).status).toBe(400);
    }
  });

  it('rejects a domain the page is not under', async () => {
    for (const domain of ['evil.com', 'ample.com', 'com', 'example.com;secure', 'www.example.com.evil.com']) {
      const res = await post(`msclkid=${CLICK_ID}&domain=${encodeURIComponent(domain)}`);
      expect(res.status).toBe(400);
      expect(await res.text()).not.toContain('evil');
    }
    expect((await post(`msclkid=${CLICK_ID}&domain=.example.com`)).status).toBe(204);
    expect((await post(`msclkid=${CLICK_ID}&domain=www.example.com`)).status).toBe(204);
  });

  it('answers 405 to other methods', async () => {
    const res = await app.request('/msclkid');
    expect(res.status).toBe(405);
    expect(res.headers.get('Allow')).toBe('POST');
  });

  it('refuses bodies over 512 bytes', async () => {
    const res = await post(`msclkid=${CLICK_ID}&domain=${'a'.repeat(600)}`);
    expect(res.status).toBe(413);
  });
});

describe('POST /msclkid: security', () => {
  it.each([
    ['cross-site', { 'Sec-Fetch-Site': 'cross-site' }],
    ['same-site', { 'Sec-Fetch-Site': 'same-site', Origin: 'http://shop.example.com' }],
    ['an old browser on another origin', { 'Sec-Fetch-Site': '', Origin: 'http://evil.test' }],
    ['an opaque origin', { 'Sec-Fetch-Site': '', Origin: 'null' }],
  ])('refuses a request from %s, without a cookie', async (_, headers) => {
    const res = await post(`msclkid=${CLICK_ID}`, headers);
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it('accepts an old browser on its own origin, also behind a proxy that forwards the host', async () => {
    expect((await post(`msclkid=${CLICK_ID}`, { 'Sec-Fetch-Site': '' })).status).toBe(204);
    const proxied = await app.request('http://127.0.0.1:8787/msclkid', {
      method: 'POST',
      body: `msclkid=${CLICK_ID}`,
      headers: { Origin: origin, 'X-Forwarded-Host': 'www.example.com' },
    });
    expect(proxied.status).toBe(204);
  });

  it('never answers with CORS headers, so no other origin reads the answer', async () => {
    const res = await post(`msclkid=${CLICK_ID}`);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
    const preflight = await app.request('/msclkid', {
      method: 'OPTIONS',
      headers: { Origin: 'http://evil.test', 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });
});
