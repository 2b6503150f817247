import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { createApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';
import { createApiKey } from '../../src/services/api-keys.ts';
import { testClock, testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';

/**
 * Bodies against a real server on loopback, sent as a client would: chunked, without Content-Length, as
 * fast as the socket takes them. The server must refuse before the client has sent much, instead of
 * reading the body into memory first (issue 8: 20 unauthenticated 64 MB requests took the service from
 * 0.55 to 1.9 GB; a 600 MB POST /msclkid was read whole).
 */
const clock = testClock('2026-06-01T00:00:00Z');
const MiB = 1024 * 1024;
/** As in production: CLOSELOOP_MAX_UPLOAD_MB's default. */
const maxUploadBytes = 64 * MiB;
let database: Database;
let server: ServerType;
let port: number;
let key: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const ctx = testContext(database, clock.now);
  key = (await createApiKey({ ctx, name: 'streaming' })).key;
  const app = createApp({
    ctx,
    log: createLogger(process.env.DEBUG_LOG ? 'debug' : 'silent'),
    maxUploadBytes,
    target: 'emulator',
  });
  server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((resolve) => server.once('listening', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await database.close();
});

interface Sent {
  status: number | undefined;
  body: string;
  /** Bytes the client had written when the answer came (or the connection broke). */
  sent: number;
  /** Whether the client got to send its whole body. */
  finished: boolean;
}

/** POSTs `total` bytes of `fill`, chunked, 1 MiB per write, stopping once an answer arrives. */
function sendChunked(
  path: string,
  headers: Record<string, string>,
  total: number,
  fill = 'a',
): Promise<Sent> {
  return new Promise((resolve) => {
    const chunk = Buffer.alloc(MiB, fill);
    const result: Sent = { status: undefined, body: '', sent: 0, finished: false };
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      req.destroy();
      resolve(result);
    };
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      method: 'POST',
      agent: false,
      headers: { ...headers, 'transfer-encoding': 'chunked' },
    });
    req.on('response', (res) => {
      result.status = res.statusCode;
      res.setEncoding('utf8');
      res.on('data', (data: string) => {
        result.body += data;
      });
      res.on('end', settle);
      res.on('error', settle);
    });
    // The server closing the connection while the client still sends.
    req.on('error', () => {
      if (result.status === undefined) setTimeout(settle, 100);
    });
    const pump = () => {
      while (result.status === undefined && !req.destroyed) {
        if (result.sent >= total) {
          result.finished = true;
          req.end();
          return;
        }
        result.sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

describe('request bodies on a real server', () => {
  it('refuses an unauthenticated chunked upload before the client has sent it', async () => {
    const res = await sendChunked('/api/v1/uploads', { 'content-type': 'text/csv' }, 256 * MiB);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ title: 'unauthorized' });
    expect(res.finished).toBe(false);
    // What loopback's socket buffers take before the answer; the old limit read 64 MiB first.
    expect(res.sent).toBeLessThan(16 * MiB);
  });

  it('holds nothing of 20 unauthenticated chunked uploads at once', async () => {
    const before = process.memoryUsage().rss;
    let peak = before;
    const sample = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    try {
      const all = await Promise.all(
        Array.from({ length: 20 }, () =>
          sendChunked('/api/v1/uploads', { authorization: 'Bearer cl_wrong' }, 128 * MiB),
        ),
      );
      for (const res of all) {
        // 401, unless the client lost it to the closed connection (see the authenticated case below).
        expect([401, undefined]).toContain(res.status);
        expect(res.finished).toBe(false);
        expect(res.sent).toBeLessThan(32 * MiB);
      }
      expect(all.filter((res) => res.status === 401).length).toBeGreaterThan(0);
    } finally {
      clearInterval(sample);
    }
    // Before: each request held up to 64 MiB (1.3 GB for 20) before the key was looked at.
    expect(peak - before).toBeLessThan(200 * MiB);
  });

  it('refuses an authenticated upload past the limit with 413 as soon as it passes it, and fails the upload', async () => {
    const res = await sendChunked(
      '/api/v1/uploads?filename=big.csv',
      { authorization: `Bearer ${key}`, 'content-type': 'text/csv' },
      512 * MiB,
    );
    // The answer is 413. The client here shares its event loop with the server under test: when the
    // machine is loaded it may still be writing when @hono/node-server ends its lingering close, and then
    // loses the answer to the broken connection. The upload's record below says what the server did.
    if (res.status !== undefined) {
      expect(res.status).toBe(413);
      expect(JSON.parse(res.body).detail).toMatch(/larger than 64 MiB\. Split the file/);
    }
    expect(res.finished).toBe(false);
    expect(res.sent).toBeLessThan(maxUploadBytes + 16 * MiB);
    const uploads = await fetch(`http://127.0.0.1:${port}/api/v1/uploads`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const [upload] = (await uploads.json()).uploads;
    expect(upload).toMatchObject({
      filename: 'big.csv',
      status: 'failed',
      error: { code: 'INTERRUPTED', message: expect.stringContaining('larger than 64 MiB') },
    });
  });

  it('reads at most 512 bytes of POST /msclkid, chunked or not', async () => {
    const res = await sendChunked(
      '/msclkid',
      { 'content-type': 'application/x-www-form-urlencoded' },
      256 * MiB,
    );
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).detail).toBe('The body must be at most 512 bytes.');
    expect(res.finished).toBe(false);
    expect(res.sent).toBeLessThan(16 * MiB);
  });
});
