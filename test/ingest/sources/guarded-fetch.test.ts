import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardedFetch } from '../../../src/ingest/sources/guarded-fetch.ts';
import { startHttpServer, type TestServer } from '../../helpers/source-servers.ts';

/*
 * The fetch of polled call-tracking APIs (a user-typed base URL): the scheduled sources' address policy
 * on every connection, no redirect followed, a size limit; otherwise a Response like fetch's.
 */

let server: TestServer;
const seen: { method: string; url: string; authorization: string | undefined; body: string }[] = [];

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body });
      if (req.url === '/redirect') return res.writeHead(302, { location: '/json' }).end();
      if (req.url === '/big') return res.end('x'.repeat(2048));
      res.writeHead(200, { 'content-type': 'application/json', 'x-two': 'a' }).end('{"ok":true}');
    });
  });
});
afterAll(() => server.close());

const open = guardedFetch({ allowPrivate: true }, { maxBytes: 1024 });
const closed = guardedFetch({ allowPrivate: false });

describe('guardedFetch', () => {
  it('answers like fetch: status, headers, JSON; sends the method, headers and body', async () => {
    const res = await open(`${server.origin}/json?a=1`, {
      method: 'POST',
      headers: { authorization: 'Basic abc' },
      body: 'hello',
    });
    expect(res.status).toBe(200);
    expect(res.ok).toBe(true);
    expect(res.headers.get('x-two')).toBe('a');
    expect(await res.json()).toEqual({ ok: true });
    expect(seen.at(-1)).toEqual({
      method: 'POST',
      url: '/json?a=1',
      authorization: 'Basic abc',
      body: 'hello',
    });
  });

  it('refuses a loopback address before connecting, by IP literal and by name', async () => {
    const before = seen.length;
    await expect(closed(`${server.origin}/json`)).rejects.toThrow(
      /127\.0\.0\.1 is a loopback address.*CLOSELOOP_ALLOW_PRIVATE_SOURCES/,
    );
    await expect(closed(`http://localhost:${server.port}/json`)).rejects.toThrow(/loopback address/);
    expect(seen.length).toBe(before);
  });

  it('does not follow a redirect, stops reading past its size limit, and refuses other schemes', async () => {
    const moved = await open(`${server.origin}/redirect`);
    expect(moved.status).toBe(302);
    expect(moved.headers.get('location')).toBe('/json');
    await expect(open(`${server.origin}/big`)).rejects.toThrow(/the answer is over/);
    await expect(open('file:///etc/passwd')).rejects.toThrow(/only http and https/);
  });
});
