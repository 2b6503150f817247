import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchSource, parseSourceUrl } from '../../../src/ingest/sources/fetch-source.ts';
import { SourceError } from '../../../src/ingest/sources/source-error.ts';
import type { FetchLimits } from '../../../src/ingest/sources/types.ts';
import {
  hasBasicAuth,
  selfSignedCert,
  startHttpServer,
  type TestServer,
} from '../../helpers/source-servers.ts';

const body = 'Microsoft Click ID,Conversion Name,Conversion Time\n';
const open: FetchLimits = { policy: { allowPrivate: true }, maxBytes: 1024 * 1024, timeoutMs: 2000 };

async function failure(url: string, limits: FetchLimits = open, credentials = {}): Promise<SourceError> {
  const err = await fetchSource(new URL(url), credentials, limits).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SourceError);
  return err as SourceError;
}

describe('HTTP and HTTPS sources', () => {
  let http: TestServer;
  let https: TestServer;
  let other: TestServer;
  let cert: { key: string; cert: string };
  const slowTimers: NodeJS.Timeout[] = [];

  beforeAll(async () => {
    cert = selfSignedCert();
    // A second loopback address (all of 127/8 reaches lo on Linux): the target of redirects to refuse.
    other = await startHttpServer((_req, res) => res.end('internal secrets'), { host: '127.0.0.2' });
    const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
      const path = new URL(req.url!, 'http://x').pathname;
      if (path === '/file.csv') return res.end(body);
      if (path === '/auth.csv') {
        if (!hasBasicAuth(req, 'ann', 's3cret')) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' });
          return res.end();
        }
        return res.end(body);
      }
      if (path === '/forbidden.csv') return res.writeHead(403).end();
      if (path === '/broken') return res.writeHead(500).end();
      if (path === '/redirect') return res.writeHead(302, { location: '/file.csv' }).end();
      if (path === '/redirect-auth') return res.writeHead(302, { location: `${other.origin}/echo` }).end();
      if (path === '/redirect-private') return res.writeHead(302, { location: `${other.origin}/` }).end();
      if (path === '/loop') return res.writeHead(302, { location: '/loop' }).end();
      if (path === '/slow') {
        res.writeHead(200, { 'content-length': '100' });
        res.write('Microsoft Click ID');
        slowTimers.push(setTimeout(() => res.end('x'.repeat(82)), 10_000));
        return;
      }
      if (path === '/truncated') {
        res.writeHead(200, { 'content-length': '1000' });
        res.write(body);
        setTimeout(() => res.destroy(), 20);
        return;
      }
      if (path === '/big-declared') {
        res.writeHead(200, { 'content-length': String(2 * 1024 * 1024) });
        return res.end();
      }
      if (path === '/big-chunked') {
        // No Content-Length: the limit must hold while the body streams.
        res.writeHead(200);
        const chunk = Buffer.alloc(64 * 1024, 'a');
        let sent = 0;
        const pump = () => {
          while (sent < 4 * 1024 * 1024) {
            sent += chunk.length;
            if (!res.write(chunk)) return res.once('drain', pump);
          }
          res.end();
        };
        res.on('error', () => {});
        pump();
        return;
      }
      res.writeHead(404).end();
    };
    http = await startHttpServer(handler);
    https = await startHttpServer(handler, { tls: cert });
  });
  afterAll(async () => {
    for (const t of slowTimers) clearTimeout(t);
    await Promise.all([http.close(), https.close(), other.close()]);
  });

  it('downloads a file over HTTP and over HTTPS (a certificate trusted through ca)', async () => {
    const plain = await fetchSource(new URL(`${http.origin}/file.csv`), {}, open);
    expect(plain.bytes.toString()).toBe(body);
    expect(plain.filename).toBe('file.csv');
    const secure = await fetchSource(
      new URL(`https://localhost:${https.port}/file.csv`),
      {},
      { ...open, ca: cert.cert },
    );
    expect(secure.bytes.toString()).toBe(body);
  });

  it('refuses an HTTPS server whose certificate is not trusted', async () => {
    const err = await failure(`https://localhost:${https.port}/file.csv`);
    expect(err.failure).toBe('tls');
    expect(err.message).toMatch(/certificate/);
  });

  it('sends basic authentication; a wrong password is a 401 that says so', async () => {
    const ok = await fetchSource(
      new URL(`${http.origin}/auth.csv`),
      { username: 'ann', password: 's3cret' },
      open,
    );
    expect(ok.bytes.toString()).toBe(body);
    const wrong = await failure(`${http.origin}/auth.csv`, open, { username: 'ann', password: 'nope' });
    expect(wrong.failure).toBe('unauthorized');
    expect(wrong.message).toMatch(/refused the user name and password \(HTTP 401\)/);
    const none = await failure(`${http.origin}/auth.csv`);
    expect(none.message).toMatch(/asks for a user name and password/);
  });

  it('says 403, 404 and 5xx in words', async () => {
    expect((await failure(`${http.origin}/forbidden.csv`)).message).toMatch(
      /forbidden \(HTTP 403\).*Publish to web/,
    );
    const missing = await failure(`${http.origin}/missing.csv`);
    expect(missing.failure).toBe('not_found');
    expect(missing.message).toMatch(/no file there \(HTTP 404\)/);
    expect((await failure(`${http.origin}/broken`)).message).toMatch(/HTTP 500.*tries again later/);
  });

  it('follows redirects, at most maxRedirects of them', async () => {
    const moved = await fetchSource(new URL(`${http.origin}/redirect`), {}, open);
    expect(moved.bytes.toString()).toBe(body);
    const loop = await failure(`${http.origin}/loop`, { ...open, maxRedirects: 3 });
    expect(loop.failure).toBe('too_many_redirects');
    expect(loop.message).toMatch(/more than 3 redirects/);
  });

  it('refuses a redirect to a private address that the allow-list does not cover', async () => {
    // 127.0.0.1 is allowed, 127.0.0.2 (where the redirect points) is not.
    const limits: FetchLimits = { ...open, policy: { allowPrivate: ['127.0.0.1/32'] } };
    expect((await fetchSource(new URL(`${http.origin}/file.csv`), {}, limits)).bytes.toString()).toBe(body);
    const err = await failure(`${http.origin}/redirect-private`, limits);
    expect(err.failure).toBe('private_address');
    expect(err.message).toMatch(/127\.0\.0\.2 is a loopback address.*CLOSELOOP_ALLOW_PRIVATE_SOURCES/);
  });

  it('refuses loopback sources by default, by IP literal and by a name that resolves to loopback', async () => {
    const closed: FetchLimits = { ...open, policy: { allowPrivate: false } };
    const literal = await failure(`${http.origin}/file.csv`, closed);
    expect(literal.failure).toBe('private_address');
    expect(literal.message).toMatch(/^127\.0\.0\.1 is a loopback address/);
    const named = await failure(`http://localhost:${http.port}/file.csv`, closed);
    expect(named.failure).toBe('private_address');
    expect(named.message).toMatch(/^localhost \((127\.0\.0\.1|::1)\) is a loopback address/);
    const mapped = await failure(`http://[::ffff:127.0.0.1]:${http.port}/file.csv`, closed);
    expect(mapped.failure).toBe('private_address');
  });

  it('times out on a body that stalls, and refuses a body cut short', async () => {
    const slow = await failure(`${http.origin}/slow`, { ...open, timeoutMs: 300 });
    expect(slow.failure).toBe('timeout');
    expect(slow.message).toMatch(/stopped answering for 0\.3 s/);
    const cut = await failure(`${http.origin}/truncated`);
    expect(cut.failure).toBe('truncated');
    expect(cut.message).toMatch(/did not arrive whole/);
  });

  it('refuses a file over the size limit, announced or streamed', async () => {
    const declared = await failure(`${http.origin}/big-declared`);
    expect(declared.failure).toBe('too_large');
    expect(declared.message).toMatch(/larger than the upload limit of 1 MB.*CLOSELOOP_MAX_UPLOAD_MB/);
    const streamed = await failure(`${http.origin}/big-chunked`);
    expect(streamed.failure).toBe('too_large');
  });

  it('says when a host does not resolve or refuses the connection', async () => {
    const dns = await failure('http://closeloop-no-such-host.invalid/file.csv');
    expect(dns.failure).toBe('dns');
    expect(dns.message).toMatch(/does not resolve/);
    const refused = await failure('http://127.0.0.1:1/file.csv');
    expect(refused.failure).toBe('refused');
  });
});

describe('source URLs', () => {
  it('takes credentials out of the URL and refuses other schemes and folders', () => {
    const parsed = parseSourceUrl('sftp://ann:p%40ss@files.example.com/out/conversions.csv');
    expect(parsed.url.href).toBe('sftp://files.example.com/out/conversions.csv');
    expect(parsed).toMatchObject({ username: 'ann', password: 'p@ss' });
    expect(() => parseSourceUrl('file:///etc/passwd')).toThrow(/file URLs are not supported/);
    expect(() => parseSourceUrl('sftp://files.example.com/out/')).toThrow(/path of a file, not a folder/);
    expect(() => parseSourceUrl('not a url')).toThrow(/is not a URL/);
  });
});
