import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { createApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';
import { createSecrets } from '../../src/secrets.ts';
import { createApiKey } from '../../src/services/api-keys.ts';
import { createGoal } from '../../src/services/goals.ts';
import { testClock, testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { hasBasicAuth, startHttpServer, type TestServer } from '../helpers/source-servers.ts';

const clock = testClock('2026-06-01T00:00:00Z');
let database: Database;
let server: TestServer;
let call: (path: string, init?: RequestInit & { json?: unknown }) => Response | Promise<Response>;
const csv = [
  'Microsoft Click ID,Conversion Name,Conversion Time',
  `${'d'.repeat(32)},Purchase,2026-06-10 10:00:00`,
  `${'e'.repeat(32)},Nope,2026-06-10 10:00:00`,
].join('\n');

beforeAll(async () => {
  database = await createTestDatabase();
  const ctx = testContext(database, clock.now);
  await createGoal({ ctx, input: { name: 'Purchase' } });
  clock.set('2026-06-15T09:30:00Z');
  server = await startHttpServer((req, res) => {
    if (!hasBasicAuth(req, 'ann', 'pw-never-shown')) return res.writeHead(401).end();
    if (req.url === '/sheet.csv') return res.end(csv);
    res.writeHead(404).end();
  });
  const app = createApp({
    ctx,
    log: createLogger('silent'),
    maxUploadBytes: 1024 * 1024,
    target: 'emulator',
    schedules: {
      secrets: createSecrets(randomBytes(32)),
      limits: { policy: { allowPrivate: true }, maxBytes: 1024 * 1024, timeoutMs: 2000 },
    },
  });
  const { key } = await createApiKey({ ctx, name: 'test' });
  call = (path, init = {}) => {
    const { json, ...rest } = init;
    const headers = new Headers(rest.headers);
    headers.set('authorization', `Bearer ${key}`);
    if (json !== undefined) headers.set('content-type', 'application/json');
    return app.request(path, {
      ...rest,
      headers,
      ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
    });
  };
});
afterAll(async () => {
  await server.close();
  await database.close();
});

describe('/api/v1/schedules', () => {
  const input = () => ({
    name: 'crm export',
    url: `${server.origin}/sheet.csv`,
    username: 'ann',
    password: 'pw-never-shown',
    every: 'weekly fri 18:00',
    timeZone: 'America/New_York',
  });

  it('previews without saving, then saves and previews; never gives the password back', async () => {
    const preview = await call('/api/v1/schedules/preview', { method: 'POST', json: input() });
    expect(preview.status).toBe(200);
    const p = await preview.json();
    expect(p).toMatchObject({
      saved: false,
      upload: { status: 'previewed', counts: { ok: 1, rejected: 1 } },
    });
    expect((await (await call('/api/v1/schedules')).json()).schedules).toEqual([]);

    const created = await call('/api/v1/schedules', { method: 'POST', json: input() });
    expect(created.status).toBe(201);
    const text = await created.text();
    expect(text).not.toContain('pw-never-shown');
    const body = JSON.parse(text);
    expect(body.schedule).toMatchObject({
      name: 'crm export',
      every: 'weekly fri 18:00',
      credentials: 'password',
      username: 'ann',
    });
    // Friday 2026-06-19 18:00 EDT = 22:00 UTC.
    expect(body.schedule.nextRunAt).toBe('2026-06-19T22:00:00.000Z');
    expect(body.preview.links.results).toMatch(/^\/api\/v1\/uploads\/.+\/results\.csv$/);
    const list = await (await call('/api/v1/schedules')).text();
    expect(list).not.toContain('pw-never-shown');
  });

  it('refuses an unreadable source with 422 and the reason, and bad input naming the field', async () => {
    const wrong = await call('/api/v1/schedules', {
      method: 'POST',
      json: { ...input(), name: 'x', password: 'bad' },
    });
    expect(wrong.status).toBe(422);
    expect(await wrong.json()).toMatchObject({
      detail: expect.stringMatching(/HTTP 401/),
      details: { failure: 'unauthorized' },
    });
    const bad = await call('/api/v1/schedules', {
      method: 'POST',
      json: { name: 'y', url: 'gopher://x/y', every: 'hourly' },
    });
    expect(bad.status).toBe(422);
    expect((await bad.json()).detail).toMatch(/gopher URLs are not supported/);
    const extra = await call('/api/v1/schedules', {
      method: 'POST',
      json: { ...input(), name: 'z', colour: 'red' },
    });
    expect(extra.status).toBe(422);
    expect((await extra.json()).detail).toMatch(/colour/);
  });

  it('runs now and lists runs with their upload ids, whose results download as any upload', async () => {
    const run = await call('/api/v1/schedules/crm%20export/run', { method: 'POST' });
    expect(run.status).toBe(200);
    const r = await run.json();
    expect(r.run).toMatchObject({ outcome: 'imported', trigger: 'manual' });
    expect(r.upload).toMatchObject({ status: 'applied_with_errors' });
    const runs = await (await call('/api/v1/schedules/crm%20export/runs')).json();
    expect(runs.runs).toHaveLength(1);
    expect(runs.runs[0].uploadId).toBe(r.upload.id);
    const results = await call(runs.runs[0].links.results);
    expect(results.status).toBe(200);
    expect(await results.text()).toContain('UNKNOWN_GOAL');
  });

  it('pauses with PATCH, deletes, and answers 404 for what is not there', async () => {
    const paused = await call('/api/v1/schedules/crm%20export', { method: 'PATCH', json: { paused: true } });
    expect(await paused.json()).toMatchObject({ paused: true, nextRunAt: null });
    expect((await call('/api/v1/schedules/crm%20export', { method: 'DELETE' })).status).toBe(204);
    const gone = await call('/api/v1/schedules/crm%20export');
    expect(gone.status).toBe(404);
    expect((await gone.json()).detail).toMatch(/No schedule "crm export"/);
  });
});
