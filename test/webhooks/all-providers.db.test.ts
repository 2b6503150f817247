import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCtm } from '../../connectors/calltracking/calltrackingmetrics.ts';
import { callAdapters } from '../../connectors/calltracking/index.ts';
import type { Database } from '../../src/db/client.ts';
import type { Emulator } from '../../src/msads/emulator/index.ts';
import { processWebhookEvents } from '../../src/services/webhook-processor.ts';
import type { SubmitAccount } from '../../src/submit/submitter.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { addAccount, addGoal, emulatorClient, resetSending, testSubmitter } from '../helpers/submit.ts';
import { clickId, webhookApp } from './helpers.ts';

/*
 * Every provider in the registry, end to end: its fixture's realistic delivery over a real socket →
 * authenticated → committed → processed into the ledger → sent → accepted by the emulator. A provider
 * added to connectors/calltracking/index.ts without a fixture fails here. Polled providers have their
 * own test (polling.db.test.ts).
 */

type Fixture = {
  sampleDelivery: (call: {
    callId: string;
    msclkid: string | null;
    startUtc: Date;
    durationSec: number;
    value?: string;
  }) => {
    method: 'GET' | 'POST';
    headers: Record<string, string>;
    body: string;
    query: Record<string, string>;
  };
  /** Field overrides a templated provider's source needs for this delivery (optional). */
  fields?: Record<string, string>;
  /** The zone the fixture writes local times in: the source's `timeZone` (optional). */
  fixtureTimeZone?: string;
};

const goalName = 'Phone call';
const providers = Object.values(callAdapters)
  .filter((a) => !a.poller)
  .map((a) => a.provider)
  .sort();
let database: Database;
let emulator: Emulator;
let account: SubmitAccount;
let server: ServerType;
let base: string;
let t: Awaited<ReturnType<typeof webhookApp>>;

beforeAll(async () => {
  database = await createTestDatabase();
  account = await addAccount(database);
  await addGoal(database, { name: goalName });
  emulator = await resetSending(database, goalName);
  t = await webhookApp(database, () => new Date());
  server = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await database?.close();
});

describe('every call-tracking provider, webhook to accepted conversion', () => {
  it('has webhook providers in the registry', () => {
    expect(providers).toContain('calltrackingmetrics');
    expect(providers).toContain('generic');
  });

  it.each(providers)('%s', async (provider) => {
    const path = join(import.meta.dirname, `../../connectors/calltracking/${provider}.fixture.ts`);
    expect(
      existsSync(path),
      `connectors/calltracking/${provider}.fixture.ts (sampleDelivery) is missing`,
    ).toBe(true);
    const fixture = (await import(path)) as Fixture;
    const adapter = callAdapters[provider]!;
    const secret = `secret-of-${provider}`;
    const source = await t.addSource({
      provider,
      name: `E2E ${provider}`,
      goal: goalName,
      minDurationSec: 30,
      ...(adapter.auth === 'ctm-signature' ? { secret } : {}),
      ...(fixture.fields ? { fields: fixture.fields } : {}),
      ...(fixture.fixtureTimeZone ? { timeZone: fixture.fixtureTimeZone } : {}),
    });
    const callId = `${Date.now() % 1_000_000}${providers.indexOf(provider)}`;
    const msclkid = clickId(`e2e-${provider}`);
    const delivery = fixture.sampleDelivery({
      callId,
      msclkid,
      startUtc: new Date(Math.floor((Date.now() - 2 * 3600_000) / 1000) * 1000),
      durationSec: 125,
      value: '120.50',
    });
    expect(adapter.methods).toContain(delivery.method);
    const url = new URL(source.path, base);
    for (const [k, v] of Object.entries(delivery.query)) url.searchParams.set(k, v);
    const headers: Record<string, string> = { ...delivery.headers };
    if (adapter.auth === 'token')
      url.searchParams.set('token', new URL(source.url!).searchParams.get('token')!);
    else {
      const time = String(Math.floor(Date.now() / 1000));
      headers['x-ctm-time'] = time;
      headers['x-ctm-signature'] = signCtm(secret, time, delivery.body);
    }
    const res = await fetch(url, {
      method: delivery.method,
      headers,
      ...(delivery.method === 'POST' ? { body: delivery.body } : {}),
    });
    expect(res.status, await res.clone().text()).toBe(200);

    const report = await processWebhookEvents({ ctx: t.ctx });
    expect(report.outcomes, JSON.stringify(await eventsOf(source.id))).toEqual({ conversion: 1 });
    const submitter = testSubmitter(database, [{ account, client: emulatorClient(emulator.fetch, account) }]);
    await submitter.drain();
    const [row] = await database.query<{
      state: string;
      click_id: string;
      source_ref: string;
      message: string | null;
    }>(sql`
      select c.state, c.click_id, c.source_ref, c.message from webhook_events e join conversions c on c.id = e.conversion_id
       where e.source_id = ${source.id}`);
    expect(row, 'the conversion the call made').toBeDefined();
    expect(row!.message).toBeNull();
    expect(row).toMatchObject({
      state: 'accepted',
      click_id: msclkid,
      source_ref: `call:${provider}:${callId}`,
    });
  });
});

async function eventsOf(sourceId: string) {
  return database.query(sql`select outcome, reason, call from webhook_events where source_id = ${sourceId}`);
}
