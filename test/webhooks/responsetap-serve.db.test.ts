import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callDetail, fixtureTimeZone } from '../../connectors/calltracking/responsetap.fixture.ts';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { createSecrets } from '../../src/secrets.ts';
import { createApiKey } from '../../src/services/api-keys.ts';
import { createGoal } from '../../src/services/goals.ts';
import { createWebhookSource } from '../../src/services/webhook-sources.ts';
import { type FakeResponseTap, startFakeResponseTap } from '../fakes/responsetap-server.ts';
import { cliEnvironment, cliTestTimeoutMs, runCli } from '../helpers/cli.ts';
import { type RunningServe, startServe } from '../helpers/serve.ts';
import { clickId } from './helpers.ts';

/*
 * ResponseTap has only a pull API: `closeloop serve` polls it. End to end, in a serve process of its own:
 * the real ResponseTap poller reads our fake ResponseTap API over a real socket (list of call ids, then
 * each call's detail, with the source's API key as basic auth), the calls become events, the processor
 * turns the qualifying one into a conversion, and the submitter sends it to the dry run's emulator,
 * which accepts it. First, without CLOSELOOP_ALLOW_PRIVATE_SOURCES, the poller may not reach a
 * loopback address (the source's base URL is user-typed): nothing reaches the fake, not even the key.
 */

const secretKey = randomBytes(32).toString('base64');
const apiKey = 'rt-user:rt-key-value';
let env: Record<string, string>;
let cleanup: () => Promise<void>;
let fake: FakeResponseTap;
let bearer: string;

const open = (): Promise<Database> =>
  openDatabase(
    env.DATABASE_URL
      ? { kind: 'postgres', url: env.DATABASE_URL }
      : { kind: 'pglite', dataDir: env.CLOSELOOP_DATA_DIR! },
  );

beforeAll(async () => {
  ({ env, cleanup } = await cliEnvironment());
  env = { ...env, CLOSELOOP_SECRET_KEY: secretKey };
  fake = await startFakeResponseTap({ accountId: '4321', apiKey });
  const today = new Date().toISOString().slice(0, 10);
  const startUtc = new Date(Math.floor(Date.now() / 1000) * 1000 - 3 * 3600_000);
  fake.addCall(
    today,
    'rt-1',
    callDetail({ callId: 'rt-1', msclkid: clickId('rt-1'), startUtc, durationSec: 95 }),
  );
  fake.addCall(today, 'rt-2', callDetail({ callId: 'rt-2', msclkid: null, startUtc, durationSec: 120 }));
  fake.addCall(
    today,
    'rt-3',
    callDetail({ callId: 'rt-3', msclkid: clickId('rt-3'), startUtc, durationSec: 12 }),
  );

  const database = await open();
  try {
    const ctx = { database, customerId: 'default', now: () => new Date() };
    await createGoal({ ctx, input: { name: 'Phone call' } });
    await createWebhookSource({
      ctx,
      secrets: createSecrets(Buffer.from(secretKey, 'base64')),
      input: {
        provider: 'responsetap',
        name: 'RT',
        goal: 'Phone call',
        minDurationSec: 30,
        secret: apiKey,
        account: '4321',
        timeZone: fixtureTimeZone,
        baseUrl: fake.baseUrl,
      },
    });
    bearer = `Bearer ${(await createApiKey({ ctx, name: 'test' })).key}`;
  } finally {
    await database.close();
  }
});
afterAll(async () => {
  await fake?.close();
  await cleanup();
});

async function api<T>(serve: RunningServe, path: string): Promise<T> {
  const res = await fetch(`${serve.base}/api/v1${path}`, { headers: { authorization: bearer } });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as T;
}

async function until<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stop(serve: RunningServe) {
  serve.child.kill('SIGTERM');
  await serve.exited;
}

interface Source {
  nextPollAt: string | null;
  lastPollError: string | null;
}
interface Event {
  providerCallId: string;
  outcome: string | null;
  reason: string | null;
  conversionId: number | null;
}

describe('ResponseTap through closeloop serve', { timeout: 3 * cliTestTimeoutMs }, () => {
  it('does not poll a loopback address unless CLOSELOOP_ALLOW_PRIVATE_SOURCES allows it', async () => {
    const serve = await startServe(env);
    try {
      const source = await until(
        'the poll error',
        () => api<Source>(serve, '/webhooks/RT'),
        (s) => s.lastPollError !== null,
      );
      expect(source.lastPollError).toMatch(
        /127\.0\.0\.1 is a loopback address.*CLOSELOOP_ALLOW_PRIVATE_SOURCES/,
      );
      expect(serve.log()).toContain('polling a call-tracking source failed');
    } finally {
      await stop(serve);
    }
    expect(fake.requests).toEqual([]);
    const list = await runCli(['webhooks', 'list'], env);
    expect(list.stdout).toMatch(/^ {2}polled \(account 4321\), next poll \d{4}-\d\d-\d\dT/m);
    expect(list.stdout).toMatch(/^ {2}last poll failed: .*127\.0\.0\.1 is a loopback address/m);
  });

  it('polls the calls, turns the qualifying one into a conversion and the emulator accepts it', async () => {
    // The refused poll moved the next one 15 minutes on: make it due again, as if that time had passed.
    const database = await open();
    await database.query(sql`update webhook_sources set next_poll_at = now() where name = 'RT'`);
    await database.close();
    const serve = await startServe({ ...env, CLOSELOOP_ALLOW_PRIVATE_SOURCES: '1' });
    try {
      const { events } = await until(
        'the three calls processed',
        () => api<{ events: Event[] }>(serve, '/webhooks/RT/events'),
        (e) => e.events.length === 3 && e.events.every((x) => x.outcome !== null),
      );
      const byCall = Object.fromEntries(events.map((e) => [e.providerCallId, e]));
      expect(byCall['rt-1']).toMatchObject({ outcome: 'conversion', reason: null });
      expect(byCall['rt-2']!.outcome).toBe('not_qualifying');
      expect(byCall['rt-2']!.reason).toMatch(/click ID/i);
      expect(byCall['rt-3']!.outcome).toBe('not_qualifying');
      expect(byCall['rt-3']!.reason).toMatch(/12 s.*30 s/);
      expect(fake.requests[0]).toMatch(/^\/cdrids\?fromDate=\d{4}-\d{2}-\d{2}&toDate=\d{4}-\d{2}-\d{2}$/);
      expect(fake.requests.filter((r) => r.startsWith('/calls/')).sort()).toEqual([
        '/calls/rt-1',
        '/calls/rt-2',
        '/calls/rt-3',
      ]);
      const source = await api<Source>(serve, '/webhooks/RT');
      expect(source.lastPollError).toBeNull();
      expect(Date.parse(source.nextPollAt!)).toBeGreaterThan(Date.now() + 10 * 60_000);

      const status = await until(
        'the conversion accepted by the emulator',
        () => api<{ goals?: unknown; accounts?: unknown }>(serve, '/status'),
        (s) => /"accepted":1\b/.test(JSON.stringify(s)),
      );
      expect(JSON.stringify(status)).toContain('Phone call');
      // The call's event shows where its conversion stands.
      const after = await api<{ events: (Event & { ledgerState: string | null })[] }>(
        serve,
        '/webhooks/RT/events',
      );
      expect(after.events.find((e) => e.providerCallId === 'rt-1')!.ledgerState).toBe('accepted');
    } finally {
      await stop(serve);
    }
  });
});
