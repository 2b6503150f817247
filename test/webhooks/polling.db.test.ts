import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callAdapters } from '../../connectors/calltracking/index.ts';
import type { CallAdapter, NormalizedCall } from '../../connectors/calltracking/types.ts';
import type { Database } from '../../src/db/client.ts';
import { createLogger } from '../../src/log.ts';
import { processWebhookEvents } from '../../src/services/webhook-processor.ts';
import { claimPoll, pollDueSources } from '../../src/services/webhook-runner.ts';
import { testClock, testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { addAccount, addGoal } from '../helpers/submit.ts';
import { clickId, webhookApp } from './helpers.ts';

/*
 * Polled providers (a pull API only, like ResponseTap): serve polls each source on its adapter's
 * interval, once across processes (compare-and-set on next_poll_at), with the source's decrypted API key
 * and account id, from the saved cursor; the calls go through the same events and processor. The poller
 * here is a client of our own fake API server over a real socket, registered like any adapter; the
 * registry's own polled adapters are covered with their fake servers by their tests.
 */

const interval = 5 * 60_000;
let database: Database;
let server: Server;
let baseUrl: string;
const clock = testClock('2026-11-30T12:00:00Z');
let t: Awaited<ReturnType<typeof webhookApp>>;
const requests: { auth: string | undefined; url: string }[] = [];
/** The fake API's calls; `since` pages by call number. */
const apiCalls = [1, 2, 3].map((i) => ({
  id: `p${i}`,
  at: Date.parse('2026-11-29T10:00:00Z') / 1000 + i * 60,
  seconds: 90,
  msclkid: clickId(`poll-${i}`),
}));
let failNext = false;

const testPoller: CallAdapter = {
  provider: 'testpolled',
  methods: [],
  auth: 'polled',
  parse: () => ({ ok: false, reason: 'polled only' }),
  poller: {
    intervalMs: interval,
    async poll({ fetch, credentials, baseUrl, cursor }) {
      const res = await fetch(`${baseUrl}/accounts/${credentials.accountId}/calls?since=${cursor ?? 0}`, {
        headers: { authorization: `Basic ${Buffer.from(credentials.apiKey!).toString('base64')}` },
      });
      if (!res.ok) throw new Error(`the API answered ${res.status}`);
      const body = (await res.json()) as { calls: typeof apiCalls; next: number };
      const calls: NormalizedCall[] = body.calls.map((c) => ({
        providerCallId: c.id,
        startUtc: new Date(c.at * 1000),
        durationSec: c.seconds,
        talkSec: null,
        answered: true,
        callerE164: null,
        value: null,
        currency: null,
        msclkid: c.msclkid,
        landingUrl: null,
        cancelled: false,
      }));
      return { calls, cursor: String(body.next) };
    },
  },
};

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push({ auth: req.headers.authorization, url: req.url! });
    if (failNext) {
      failNext = false;
      res.writeHead(503).end();
      return;
    }
    const since = Number(new URL(req.url!, 'http://x').searchParams.get('since'));
    const calls = apiCalls.slice(since);
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ calls, next: apiCalls.length }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  callAdapters.testpolled = testPoller;
  database = await createTestDatabase();
  await addAccount(database);
  await addGoal(database, { name: 'Phone call' });
  t = await webhookApp(database, clock.now);
});
afterAll(async () => {
  delete callAdapters.testpolled;
  await new Promise((r) => server?.close(r));
  await database?.close();
});

const log = createLogger('silent');

describe('polled providers', () => {
  it('needs the API key and the account; has no URL', async () => {
    await expect(
      t.addSource({ provider: 'testpolled', name: 'No key', goal: 'Phone call', account: 'A1' }),
    ).rejects.toThrow(/API key/);
    await expect(
      t.addSource({ provider: 'testpolled', name: 'No account', goal: 'Phone call', secret: 'k' }),
    ).rejects.toThrow(/account id/);
  });

  it('polls once per interval across processes, with the key and account, from the cursor; calls become conversions', async () => {
    const { source, url } = await t.addSource({
      provider: 'testpolled',
      name: 'Pulled',
      goal: 'Phone call',
      secret: 'user:api-key',
      account: 'A1',
      baseUrl,
    });
    expect(url).toBeNull();
    // Two processes that read the source as due at the same moment: one wins the compare-and-set.
    const [snapshot] = await database.query<{ next: string }>(
      sql`select next_poll_at::text as next from webhook_sources where id = ${source.id}`,
    );
    const seen = { ...source, nextPollAt: new Date(snapshot!.next) };
    expect(await claimPoll(testContext(database, clock.now), seen, clock.now())).toBe(true);
    expect(await claimPoll(testContext(database, clock.now), seen, clock.now())).toBe(false);
    await database.query(
      sql`update webhook_sources set next_poll_at = ${snapshot!.next}::timestamptz where id = ${source.id}`,
    );
    // Two pollers at once: the source is polled once.
    const other = testContext(database, clock.now);
    const polled = await Promise.all([
      pollDueSources({ ctx: t.ctx, secrets: t.secrets, log }),
      pollDueSources({ ctx: other, secrets: t.secrets, log }),
    ]);
    expect(polled.sort()).toEqual([0, 1]);
    expect(requests).toEqual([
      { auth: `Basic ${Buffer.from('user:api-key').toString('base64')}`, url: '/accounts/A1/calls?since=0' },
    ]);
    expect(await processWebhookEvents({ ctx: t.ctx })).toEqual({ events: 3, outcomes: { conversion: 3 } });
    const refs = await database.query<{ source_ref: string }>(
      sql`select source_ref from conversions order by source_ref`,
    );
    expect(refs.map((r) => r.source_ref)).toEqual([
      'call:testpolled:p1',
      'call:testpolled:p2',
      'call:testpolled:p3',
    ]);

    // Not due again before its interval; then it resumes from the saved cursor.
    clock.advance(interval - 1000);
    expect(await pollDueSources({ ctx: t.ctx, secrets: t.secrets, log })).toBe(0);
    clock.advance(1000);
    apiCalls.push({
      id: 'p4',
      at: Date.parse('2026-11-29T11:00:00Z') / 1000,
      seconds: 10,
      msclkid: clickId('poll-4'),
    });
    expect(await pollDueSources({ ctx: t.ctx, secrets: t.secrets, log })).toBe(1);
    expect(requests.at(-1)!.url).toBe('/accounts/A1/calls?since=3');
    expect((await processWebhookEvents({ ctx: t.ctx })).outcomes).toEqual({ conversion: 1 });

    // A failing API: the error is kept on the source, the cursor stays, the next interval tries again.
    clock.advance(interval);
    failNext = true;
    expect(await pollDueSources({ ctx: t.ctx, secrets: t.secrets, log })).toBe(1);
    const [row] = await database.query<{ last_poll_error: string; poll_cursor: string }>(
      sql`select last_poll_error, poll_cursor from webhook_sources where id = ${source.id}`,
    );
    expect(row).toEqual({ last_poll_error: 'the API answered 503', poll_cursor: '4' });
  });
});
