import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { createApp } from '../../src/http/app.ts';
import { reachability } from '../../src/http/probes.ts';
import { createLogger } from '../../src/log.ts';
import { createApiKey } from '../../src/services/api-keys.ts';
import { createMetricsRegistry, type MetricsRegistry } from '../../src/services/metrics.ts';
import { registerLedgerMetrics } from '../../src/services/metrics-ledger.ts';
import { testApp } from '../helpers/app.ts';
import { testClock, testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { parseExposition } from '../helpers/prometheus.ts';

const clock = testClock('2026-06-01T00:00:00Z');
let database: Database;
let t: Awaited<ReturnType<typeof testApp>>;
const click = (c: string) => c.repeat(32);

beforeAll(async () => {
  database = await createTestDatabase();
  t = await testApp(database, clock.now);
});
afterAll(() => database.close());

/** An app whose log lines are kept, with a metrics registry the test can add to. */
function appWithLog(extra: Partial<Parameters<typeof createApp>[0]> = {}) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('debug', (line) => lines.push(JSON.parse(line)));
  const metrics = createMetricsRegistry();
  registerLedgerMetrics(metrics);
  const app = createApp({
    ctx: testContext(database, clock.now),
    log,
    maxUploadBytes: 1024 * 1024,
    target: 'emulator',
    metrics,
    ...extra,
  });
  return { app, lines, metrics };
}

describe('health and readiness', () => {
  it('/healthz answers without touching the database; /health is unchanged', async () => {
    const healthz = await t.app.request('/healthz');
    expect(healthz.status).toBe(200);
    expect(await healthz.json()).toEqual({ ok: true });
    const health = await t.app.request('/health');
    expect(await health.json()).toMatchObject({ ok: true, target: 'emulator', dryRun: true });
  });

  it('/readyz: database, migrations and the dry run are ready', async () => {
    const res = await t.app.request('/readyz');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.ok).toBe(true);
    expect(body.checks.database.ok).toBe(true);
    expect(body.checks.migrations).toMatchObject({ ok: true });
    expect(body.checks.target.detail).toContain('dry run');
  });

  it('/readyz answers 503 naming the missing migration when the database lacks one', async () => {
    const [last] = await database.query<{ id: number; created_at: string }>(
      sql`select id, created_at from drizzle.__drizzle_migrations order by created_at desc limit 1`,
    );
    await database.query(sql`update drizzle.__drizzle_migrations set created_at = 1 where id = ${last!.id}`);
    try {
      const res = await t.app.request('/readyz');
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      const body = await res.json();
      expect(body.checks.migrations.ok).toBe(false);
      expect(body.detail).toMatch(/migrations: the database lacks migrations up to \d{4}_/);
    } finally {
      await database.query(
        sql`update drizzle.__drizzle_migrations set created_at = ${last!.created_at} where id = ${last!.id}`,
      );
    }
  });

  it('/readyz answers 503 when Microsoft cannot be reached, and 200 when it answers', async () => {
    const server = createServer((_, res) => res.writeHead(404).end('no')).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    try {
      const up = appWithLog({ target: 'microsoft', probeTarget: reachability(`http://127.0.0.1:${port}`) });
      const ok = await up.app.request('/readyz');
      expect(ok.status).toBe(200);
      expect((await ok.json()).checks.target.detail).toContain('answered HTTP 404');
    } finally {
      await new Promise((r) => server.close(r));
    }
    // The port is closed now: connection refused.
    const down = appWithLog({ target: 'microsoft', probeTarget: reachability(`http://127.0.0.1:${port}`) });
    const res = await down.app.request('/readyz');
    expect(res.status).toBe(503);
    expect((await res.json()).detail).toMatch(/target: http:\/\/127\.0\.0\.1:\d+ cannot be reached/);
  });
});

describe('request ids and the access log', () => {
  it('every line of a request carries its id, the response echoes it, one access line per request', async () => {
    const { app, lines } = appWithLog();
    const res = await app.request('/api/v1/goals?secret=abc', { headers: { 'x-request-id': 'abc-123' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-request-id')).toBe('abc-123');
    const access = lines.filter((l) => l.msg === 'request');
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({
      requestId: 'abc-123',
      method: 'GET',
      path: '/api/v1/goals',
      status: 401,
    });
    expect(typeof access[0]!.ms).toBe('number');
    expect(JSON.stringify(lines)).not.toContain('secret=abc');
  });

  it('a line logged deep inside a request (an unhandled error) carries the id too', async () => {
    const { app, lines } = appWithLog();
    app.get('/boom', () => {
      throw new Error('kaboom');
    });
    const res = await app.request('/boom', { headers: { 'x-request-id': 'req-boom' } });
    expect(res.status).toBe(500);
    expect(res.headers.get('x-request-id')).toBe('req-boom');
    const error = lines.find((l) => l.msg === 'unhandled error');
    expect(error).toMatchObject({ requestId: 'req-boom', error: 'kaboom' });
  });

  it('an insane incoming id (a newline, too long) is replaced by a fresh UUID', async () => {
    const { app, lines } = appWithLog();
    for (const bad of ['x'.repeat(129), 'a b', 'forged\\n{"level":"error"}']) {
      const res = await app.request('/healthz', { headers: { 'x-request-id': bad } });
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
    const res = await app.request('/healthz');
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.at(-1)).toMatchObject({ requestId: id, level: 'debug', path: '/healthz' });
  });
});

describe('GET /metrics', () => {
  let metricsToken: string;
  let app: ReturnType<typeof appWithLog>['app'];
  let registry: MetricsRegistry;

  beforeAll(async () => {
    metricsToken = 'metrics-token-0123456789';
    ({ app, metrics: registry } = appWithLog({ metricsToken }));
    await t.call('/api/v1/goals', { method: 'POST', json: { name: 'Lead "A"\\B' } });
    await t.call('/api/v1/goals', { method: 'POST', json: { name: 'Sale' } });
    const conversions = [
      { clickId: click('a'), conversionName: 'Lead "A"\\B', conversionTime: '2026-05-30T10:00:00Z' },
      { clickId: click('a'), conversionName: 'Lead "A"\\B', conversionTime: '2026-05-30T10:00:00Z' },
      { clickId: click('b'), conversionName: 'Sale', conversionTime: '2026-05-30T11:00:00Z' },
    ];
    await t.call('/api/v1/conversions', { method: 'POST', json: { conversions } });
  });

  it('needs the metrics token or an API key', async () => {
    expect((await app.request('/metrics')).status).toBe(401);
    const wrong = await app.request('/metrics', {
      headers: { authorization: 'Bearer wrong-token-123456789' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('Bearer');
    const byToken = await app.request('/metrics', { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(byToken.status).toBe(200);
    const { key } = await createApiKey({ ctx: testContext(database, clock.now), name: 'prom' });
    const byKey = await app.request('/metrics', { headers: { authorization: `Bearer ${key}` } });
    expect(byKey.status).toBe(200);
  });

  it('writes the exposition format, with the ledger counted by goal and state', async () => {
    const res = await app.request('/metrics', { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const families = parseExposition(await res.text());
    const conversions = families.get('closeloop_conversions')!;
    expect(conversions.type).toBe('gauge');
    // The label value with a quote and a backslash survives escaping.
    const byKey = Object.fromEntries(
      conversions.samples.map((s) => [`${s.labels.goal}|${s.labels.state}`, s.value]),
    );
    expect(byKey).toMatchObject({ 'Lead "A"\\B|held': 1, 'Lead "A"\\B|duplicate': 1, 'Sale|held': 1 });
    expect(
      families
        .get('closeloop_queue_depth')!
        .samples.map((s) => s.labels.kind)
        .sort(),
    ).toEqual(['adjustments', 'conversions']);
    for (const name of [
      'closeloop_adjustments',
      'closeloop_submissions_total',
      'closeloop_queue_due',
      'closeloop_queue_oldest_due_age_seconds',
      'closeloop_account_paused',
      'closeloop_metrics_scrape_duration_seconds',
    ])
      expect(families.has(name), name).toBe(true);
    expect(families.get('closeloop_submissions_total')!.type).toBe('counter');
  });

  it('counts due rows and the age of the oldest one, and a paused account', async () => {
    await database.query(
      sql`update conversions set state = 'queued', held_until = null, updated_at = '2026-05-31T23:00:00Z' where goal_name = 'Sale'`,
    );
    await database.query(
      sql`insert into accounts (name, target, origin, ms_customer_id, ms_account_id, paused_until, pause_reason)
          values ('Acme', 'microsoft', 'database', '1', '777', '2026-06-01T00:01:00Z', 'Microsoft throttled the account (117)')`,
    );
    const families = parseExposition(
      await (await app.request('/metrics', { headers: { authorization: `Bearer ${metricsToken}` } })).text(),
    );
    const kind = (name: string, k: string) =>
      families.get(name)!.samples.find((s) => s.labels.kind === k)!.value;
    expect(kind('closeloop_queue_depth', 'conversions')).toBe(1);
    expect(kind('closeloop_queue_due', 'conversions')).toBe(1);
    expect(kind('closeloop_queue_oldest_due_age_seconds', 'conversions')).toBe(3600);
    expect(kind('closeloop_queue_oldest_due_age_seconds', 'adjustments')).toBe(0);
    const paused = families.get('closeloop_account_paused')!.samples.find((s) => s.labels.account === '777')!;
    expect(paused).toMatchObject({ labels: { reason: 'throttled' }, value: 1 });
    const remaining = families.get('closeloop_account_pause_remaining_seconds')!.samples;
    expect(remaining.find((s) => s.labels.account === '777')!.value).toBe(60);
  });

  it('a capability adds its series with one call; a failing collector is reported, not fatal', async () => {
    registry.register('webhooks', () => [
      {
        name: 'closeloop_webhook_events_total',
        help: 'Webhook events, by provider and outcome.',
        type: 'counter',
        samples: [{ labels: { provider: 'invoca', outcome: 'accepted' }, value: 3 }],
      },
    ]);
    registry.register('broken', () => {
      throw new Error('no table');
    });
    const runs = registry.counter({
      name: 'closeloop_schedule_runs_total',
      help: 'Runs.',
      labelNames: ['outcome'],
    });
    runs.inc({ outcome: 'ok' });
    runs.inc({ outcome: 'ok' }, 2);
    const families = parseExposition(
      await (await app.request('/metrics', { headers: { authorization: `Bearer ${metricsToken}` } })).text(),
    );
    expect(families.get('closeloop_webhook_events_total')!.samples[0]).toMatchObject({
      labels: { provider: 'invoca', outcome: 'accepted' },
      value: 3,
    });
    expect(families.get('closeloop_schedule_runs_total')!.samples[0]!.value).toBe(3);
    const failed = families.get('closeloop_metrics_collector_failed')!.samples;
    expect(failed.find((s) => s.labels.collector === 'broken')!.value).toBe(1);
    expect(failed.find((s) => s.labels.collector === 'ledger')!.value).toBe(0);
    expect(families.has('closeloop_conversions')).toBe(true);
  });
});
