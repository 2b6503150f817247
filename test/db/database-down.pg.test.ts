import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { createApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';
import { createApiKey } from '../../src/services/api-keys.ts';
import { testContext } from '../helpers/context.ts';
import { createPostgresDatabaseUrl } from '../helpers/db.ts';
import { tcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * PostgreSQL going away and coming back, through a TCP proxy on loopback: /health says so with 503
 * within its timeout, every API route answers 503 problem+json database_unavailable (it was 500
 * "internal", or no answer), and the service recovers by itself when the database is back.
 */
let database: Database;
let drop: () => Promise<void>;
let proxy: Awaited<ReturnType<typeof tcpProxy>>;
let app: ReturnType<typeof createApp>;
let key: string;
const lines: string[] = [];

beforeAll(async () => {
  const created = await createPostgresDatabaseUrl();
  drop = created.drop;
  const real = new URL(created.url);
  proxy = await tcpProxy({ host: real.hostname, port: Number(real.port) });
  const viaProxy = new URL(created.url);
  viaProxy.port = String(proxy.port);
  database = await openDatabase({ kind: 'postgres', url: viaProxy.toString(), max: 3 });
  const ctx = testContext(database, () => new Date());
  ({ key } = await createApiKey({ ctx, name: 'test' }));
  app = createApp({
    ctx,
    log: createLogger('warn', (l) => lines.push(l)),
    maxUploadBytes: 1024 * 1024,
    target: 'emulator',
    healthTimeoutMs: 500,
  });
});
afterAll(async () => {
  await proxy?.set('forward');
  await database?.close();
  await proxy?.close();
  await drop?.();
});

afterEach(() => proxy.set('forward'));

const get = (path: string) => app.request(path, { headers: { authorization: `Bearer ${key}` } });

async function expectUnavailable(res: Response, detail: RegExp) {
  expect(res.status).toBe(503);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.headers.get('retry-after')).toBe('5');
  const body = (await res.json()) as { title: string; detail: string };
  expect(body.title).toBe('database_unavailable');
  expect(body.detail).toMatch(detail);
  return body;
}

describe('when PostgreSQL goes away', () => {
  it('refusing connections: /health and the API answer 503 with the reason, and recover when it is back', async () => {
    expect((await get('/health')).status).toBe(200);
    await proxy.set('refuse');
    const health = await expectUnavailable(
      await get('/health'),
      /refused \(ECONNREFUSED\)|closed \(CONNECTION/,
    );
    expect(health).toMatchObject({ ok: false, database: 'postgres', target: 'emulator', dryRun: true });
    for (const path of ['/api/v1/goals', '/api/v1/uploads', '/api/v1/submissions', '/api/v1/accounts'])
      await expectUnavailable(await get(path), /Check that PostgreSQL \(DATABASE_URL\) is running/);
    const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'database unavailable');
    expect(logged.length).toBeGreaterThanOrEqual(4);
    // With its cause: drizzle's failed query, and under it the refused connection.
    expect(logged[0].cause).toMatchObject({ error: 'Failed query', cause: { code: 'ECONNREFUSED' } });
    expect(lines.join('\n')).not.toMatch(/unhandled error/);

    await proxy.set('forward');
    expect((await get('/health')).status).toBe(200);
    expect((await get('/api/v1/goals')).status).toBe(200);
  });

  it('answering nothing: /health answers 503 when its timeout runs out, and recovers', async () => {
    expect((await get('/health')).status).toBe(200);
    await proxy.set('blackhole');
    await expectUnavailable(await get('/health'), /did not answer within 500 ms/);
    await proxy.set('forward');
    // The statements stuck in the frozen connections fail when the proxy cuts them; then it works.
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await get('/health')).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    expect((await get('/api/v1/goals')).status).toBe(200);
  });
});
