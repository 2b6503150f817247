import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.ts';
import { loadConfig } from '../../src/config.ts';
import type { Database } from '../../src/db/client.ts';
import { resultPage, resultRecord, resultsCsv } from '../../src/ingest/results.ts';
import { createLogger } from '../../src/log.ts';
import { createEmulator, type Emulator } from '../../src/msads/emulator/index.ts';
import { submitBatch } from '../../src/services/api-batches.ts';
import { createGoal, getGoal, goalView } from '../../src/services/goals.ts';
import { pushGoals, syncGoals } from '../../src/services/msads-goals.ts';
import { openSending } from '../../src/submit/runtime.ts';
import type { SubmitAccount } from '../../src/submit/submitter.ts';
import { testApp } from '../helpers/app.ts';
import { testClock, testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { addAccount, emulatorClient, queueConversions, states, testSubmitter } from '../helpers/submit.ts';

let database: Database;
let emulator: Emulator;
let account: SubmitAccount;
const ctx = () => testContext(database, () => new Date());

beforeAll(async () => {
  database = await createTestDatabase();
  account = await addAccount(database);
});
afterAll(async () => {
  await database?.close();
});
beforeEach(async () => {
  emulator = createEmulator({ auth: 'open' });
  await database.query(sql`delete from adjustments`);
  await database.query(sql`delete from conversions`);
  await database.query(sql`delete from submissions`);
  await database.query(sql`delete from goals`);
});

describe('goals in Microsoft', () => {
  it('creates local goals there and restarts their 2-hour wait from that moment', async () => {
    const goal = await createGoal({
      ctx: ctx(),
      input: {
        name: 'Signed contract',
        revenue: { type: 'variable', value: 100, currency: 'EUR' },
        conversionWindow: '60d',
      },
    });
    await queueConversions(database, {
      goalId: goal.id,
      goalName: goal.name,
      count: 2,
      state: 'held',
      heldUntil: new Date(Date.now() + 60_000),
    });
    const report = await pushGoals(database, {
      account,
      client: emulatorClient(emulator.fetch, account),
      now: new Date(),
    });
    expect(report).toEqual({ created: 1, adopted: 0, updated: 0, failed: 0 });
    const [remote] = emulator.goals('1000');
    expect(remote).toMatchObject({
      name: 'Signed contract',
      conversionWindowMinutes: 86_400,
      scope: 'Account',
    });
    expect(remote?.revenue).toMatchObject({ type: 'VariableValue', value: 100, currencyCode: 'EUR' });
    const view = goalView(await getGoal({ ctx: ctx(), idOrName: goal.id }));
    expect(view.msadsGoalId).toBe(remote?.id);
    const readyIn = new Date(view.acceptsConversionsFrom).getTime() - Date.now();
    expect(readyIn).toBeGreaterThan(119 * 60_000);
    const [held] = await database.query<{ until: number }>(
      sql`select extract(epoch from held_until) * 1000 as until from conversions limit 1`,
    );
    expect(Number(held?.until)).toBeCloseTo(new Date(view.acceptsConversionsFrom).getTime(), -3);
    // Nothing left to create: a second push makes no call.
    const calls = emulator.stats().calls;
    await pushGoals(database, { account, client: emulatorClient(emulator.fetch, account), now: new Date() });
    expect(emulator.stats().calls).toBe(calls);
  });

  it('sends a goal changed here (paused, new window, count type) with UpdateConversionGoals, once', async () => {
    const goal = await createGoal({ ctx: ctx(), input: { name: 'Changing goal' } });
    const client = emulatorClient(emulator.fetch, account);
    await pushGoals(database, { account, client, now: new Date() });
    const { updateGoal } = await import('../../src/services/goals.ts');
    await updateGoal({
      ctx: ctx(),
      idOrName: goal.id,
      patch: { status: 'paused', conversionWindow: '7d', countType: 'unique' },
    });
    const report = await pushGoals(database, { account, client, now: new Date() });
    expect(report).toMatchObject({ updated: 1, failed: 0 });
    const update = emulator.requests.at(-1);
    expect(update?.method).toBe('PUT');
    expect(emulator.goals('1000')[0]).toMatchObject({
      status: 'Paused',
      conversionWindowMinutes: 10_080,
      countType: 'Unique',
    });
    const calls = emulator.stats().calls;
    expect((await pushGoals(database, { account, client, now: new Date() })).updated).toBe(0);
    expect(emulator.stats().calls).toBe(calls);
  });

  it('keeps why a goal change was refused, and tries again later', async () => {
    const goal = await createGoal({ ctx: ctx(), input: { name: 'Gone there' } });
    await database.query(
      sql`update goals set msads_goal_id = '424242', updated_at = now() where id = ${goal.id}::uuid`,
    );
    const client = emulatorClient(emulator.fetch, account);
    const report = await pushGoals(database, { account, client, now: new Date() });
    expect(report).toMatchObject({ updated: 0, failed: 1 });
    expect(goalView(await getGoal({ ctx: ctx(), idOrName: goal.id })).msadsError).toContain('5314');
    const calls = emulator.stats().calls;
    await pushGoals(database, { account, client, now: new Date() });
    expect(emulator.stats().calls).toBe(calls);
  });

  it('adopts a goal whose name exists there already (5317) as ready at once', async () => {
    const { id } = emulator.addGoal({ customerId: '1000', accountId: '2000', name: 'Phone sale' });
    const goal = await createGoal({ ctx: ctx(), input: { name: 'Phone sale' } });
    const report = await pushGoals(database, {
      account,
      client: emulatorClient(emulator.fetch, account),
      now: new Date(),
    });
    expect(report.adopted).toBe(1);
    const view = goalView(await getGoal({ ctx: ctx(), idOrName: goal.id }));
    expect(view.msadsGoalId).toBe(id);
    expect(new Date(view.acceptsConversionsFrom).getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('records why a goal could not be created, and shows it on the goal', async () => {
    emulator.injectFault({ kind: 'error0', operation: 'goals' });
    const goal = await createGoal({ ctx: ctx(), input: { name: 'Walk-in' } });
    const report = await pushGoals(database, {
      account,
      client: emulatorClient(emulator.fetch, account),
      now: new Date(),
    });
    expect(report.failed).toBe(1);
    expect(goalView(await getGoal({ ctx: ctx(), idOrName: goal.id })).msadsError).toContain('InternalError');
    // Not again on the next round (every 2 s): only once the retry delay has passed.
    const calls = emulator.stats().calls;
    await pushGoals(database, { account, client: emulatorClient(emulator.fetch, account), now: new Date() });
    expect(emulator.stats().calls).toBe(calls);
    const later = new Date(Date.now() + 6 * 60_000);
    const retried = await pushGoals(database, {
      account,
      client: emulatorClient(emulator.fetch, account),
      now: later,
    });
    expect(retried.created).toBe(1);
    expect(goalView(await getGoal({ ctx: ctx(), idOrName: goal.id })).msadsError).toBeNull();
  });

  it('goals sync imports existing offline goals, ready at once, and links one of the same name', async () => {
    emulator.addGoal({
      customerId: '1000',
      accountId: '2000',
      name: 'Imported',
      revenue: { type: 'FixedValue', value: 50, currencyCode: 'USD' },
      countType: 'Unique',
      conversionWindowMinutes: 1440,
    });
    const { id: linkedId } = emulator.addGoal({ customerId: '1000', name: 'Shared', scope: 'Customer' });
    await createGoal({ ctx: ctx(), input: { name: 'Shared', scope: 'customer' } });
    const report = await syncGoals(database, {
      account,
      client: emulatorClient(emulator.fetch, account),
      now: new Date(),
    });
    expect(report).toEqual({ imported: ['Imported'], linked: ['Shared'], unchanged: [] });
    const imported = goalView(await getGoal({ ctx: ctx(), idOrName: 'Imported' }));
    expect(imported).toMatchObject({
      revenue: { type: 'fixed', value: 50, currency: 'USD' },
      countType: 'unique',
      conversionWindowMinutes: 1440,
      accountId: '2000',
    });
    expect(new Date(imported.acceptsConversionsFrom).getTime()).toBeLessThanOrEqual(Date.now());
    expect(goalView(await getGoal({ ctx: ctx(), idOrName: 'Shared' })).msadsGoalId).toBe(linkedId);
    const again = await syncGoals(database, {
      account,
      client: emulatorClient(emulator.fetch, account),
      now: new Date(),
    });
    expect(again.unchanged.sort()).toEqual(['Imported', 'Shared']);
  });
});

describe('the HTTP API for sending', () => {
  it('lists submissions (newest first, dry run labelled) and queues failed rows again', async () => {
    const { call } = await testApp(database, () => new Date());
    const goal = await createGoal({ ctx: ctx(), input: { name: 'API goal' } });
    await database.query(sql`update goals set msads_goal_id = '1', ready_at = now() - interval '1 hour'`);
    await queueConversions(database, { goalId: goal.id, goalName: goal.name, count: 3 });
    await database.query(sql`
      insert into submissions (account_id, operation, worker, items, outcome, started_at, finished_at, accepted, tracking_id)
      values (${account.id}::uuid, 'conversions', 'w', 3, 'accepted', now() - interval '1 minute', now(), 3, 'track-1'),
             (${account.id}::uuid, 'conversions', 'w', 1, 'retry', now(), now(), 0, 'track-2')`);
    const res = await call('/api/v1/submissions');
    expect(res.status).toBe(200);
    const { submissions } = (await res.json()) as { submissions: Record<string, unknown>[] };
    expect(submissions.map((s) => s.trackingId)).toEqual(['track-2', 'track-1']);
    expect(submissions[1]).toMatchObject({
      dryRun: true,
      account: account.name,
      items: 3,
      outcome: 'accepted',
    });
    expect((await call('/api/v1/submissions?limit=0')).status).toBe(400);
    expect((await call('/api/v1/submissions', { headers: { authorization: '' } })).status).toBe(401);

    await database.query(sql`update conversions set state = 'failed', attempts = 10, error_code = '0'`);
    const retry = await call('/api/v1/retries', { method: 'POST' });
    expect(await retry.json()).toEqual({ queued: 3 });
    expect(await states(database)).toEqual({ queued: 3 });
    const bad = await call('/api/v1/retries', { method: 'POST', json: { upload: 'x' } });
    expect(bad.status).toBe(422);
    const byCall = await call('/api/v1/retries', { method: 'POST', json: { rejectedByCall: true } });
    expect(await byCall.json()).toEqual({ queued: 0, rejectedByCall: 0 });
    const notBoolean = await call('/api/v1/retries', { method: 'POST', json: { rejectedByCall: 'yes' } });
    expect(notBoolean.status).toBe(422);
    expect(await notBoolean.text()).toContain('rejectedByCall');
  });

  it('reads and turns on MSCLKID auto-tagging through the account routes', async () => {
    const { ctx: appCtx } = await testApp(database, () => new Date());
    emulator.setAutoTagging('1000', '2000', false);
    const { createApp } = await import('../../src/http/app.ts');
    const { createApiKey } = await import('../../src/services/api-keys.ts');
    const app = createApp({
      ctx: appCtx,
      log: createLogger('silent'),
      maxUploadBytes: 1024,
      target: 'emulator',
      clientFor: () => emulatorClient(emulator.fetch, account),
    });
    const { key } = await createApiKey({ ctx: appCtx, name: 'tagging' });
    const headers = { authorization: `Bearer ${key}` };
    const read = await app.request(`/api/v1/accounts/${account.id}/auto-tagging`, { headers });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({
      autoTagging: false,
      autoTaggingWarning: expect.stringContaining('off'),
    });
    const on = await app.request(`/api/v1/accounts/${account.id}/auto-tagging`, { method: 'POST', headers });
    expect(await on.json()).toMatchObject({ autoTagging: true, autoTaggingWarning: null });
    const list = await app.request('/api/v1/accounts', { headers });
    expect(((await list.json()) as { accounts: { autoTagging: boolean }[] }).accounts[0]?.autoTagging).toBe(
      true,
    );
  });
});

describe('the start page', () => {
  it('warns when an account has auto-tagging off, needs a sign-in or is paused by an error, showing counts only', async () => {
    const { app } = await testApp(database, () => new Date());
    await database.query(sql`
      insert into accounts (name, target, origin, ms_customer_id, ms_account_id, auto_tagging, auth_status,
                            paused_until, pause_reason)
      values ('Secret Shop Name', 'microsoft', 'database', '5', '6', false, 'reconsent_needed',
              now() + interval '10 minutes', 'the API answered 404 text/html from https://secret.example/')`);
    try {
      const page = await (await app.request('/')).text();
      expect(page).toContain('MSCLKID auto-tagging is off');
      expect(page).toContain('Sign-in needed');
      expect(page).toContain('<strong>Sending is paused</strong> for 1 account by an error to fix');
      expect(page).not.toContain('Secret Shop Name');
      expect(page).not.toContain('secret.example');
      // A throttling pause ends by itself: no banner.
      await database.query(sql`
        update accounts set pause_reason = 'Microsoft throttled the account (117); calls resume at …'
         where ms_account_id = '6'`);
      expect(await (await app.request('/')).text()).not.toContain('Sending is paused');
    } finally {
      await database.query(sql`delete from accounts where ms_account_id = '6'`);
    }
  });
});

describe("Microsoft's answer in an upload's results", () => {
  it('shows the code and what to fix for a row Microsoft rejected, and accepted rows as accepted', async () => {
    const goal = await createGoal({ ctx: ctx(), input: { name: 'Known here only' } });
    await database.query(sql`update goals set msads_goal_id = '77', ready_at = now() - interval '1 hour'`);
    const time = new Date(Date.now() - 86_400_000).toISOString().slice(0, 19);
    const batch = await submitBatch({
      ctx: ctx(),
      kind: 'conversions',
      body: {
        conversions: ['0123456789abcdef0123456789abcdef', 'fedcba9876543210fedcba9876543210'].map(
          (clickId) => ({
            clickId,
            conversionName: goal.name,
            conversionTime: `${time}Z`,
          }),
        ),
      },
    });
    // The emulator has no goal of that name: Microsoft answers 5606 for both.
    await testSubmitter(database, [{ account, client: emulatorClient(emulator.fetch, account) }]).drain();
    const upload = { id: batch.requestId, kind: 'conversions' as const };
    const rows = (await resultPage(database, upload)).map(resultRecord);
    expect(rows.map((r) => [r.status, r.errorCode])).toEqual([
      ['rejected', '5606'],
      ['rejected', '5606'],
    ]);
    expect(rows[0]?.message).toContain('goals sync');
    let csv = '';
    for await (const chunk of resultsCsv(database, upload, { errorsOnly: true })) csv += chunk;
    expect(csv).toContain('5606');
  });
});

describe('the dry run', () => {
  it('with no MSADS_* set sends to the built-in emulator, which knows the goals closeloop created in it', async () => {
    const config: Config = { ...loadConfig({ CLOSELOOP_SECRET_KEY: 'a'.repeat(64) }) };
    const fresh = await createTestDatabase();
    try {
      const freshCtx = testContext(fresh, () => new Date());
      const goal = await createGoal({ ctx: freshCtx, input: { name: 'Dry goal' } });
      // As if created in the emulator three hours ago, before a restart.
      await fresh.query(sql`update goals set msads_goal_id = '42', ready_at = now() - interval '1 hour'`);
      await queueConversions(fresh, { goalId: goal.id, goalName: goal.name, count: 5 });
      const sending = await openSending(freshCtx, config, createLogger('silent'));
      expect(sending.dryRun).toBe(true);
      const report = await sending.submitter.drain();
      expect(report.accepted).toBe(5);
      expect(sending.emulator.stats().accepted).toBe(5);
      const [sub] = await fresh.query<{ outcome: string }>(sql`select outcome from submissions`);
      expect(sub?.outcome).toBe('accepted');
    } finally {
      await fresh.close();
    }
  });

  it('switching to a real account creates the goals the dry run made in it there, and holds their rows 2 hours', async () => {
    const fresh = await createTestDatabase();
    const clock = testClock(new Date());
    // A second emulator on loopback stands in for the real Microsoft account.
    const real = createEmulator({ auth: 'strict', now: clock.now });
    const server = serve({ fetch: real.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const freshCtx = testContext(fresh, clock.now);
      const silent = createLogger('silent');
      const goal = await createGoal({ ctx: freshCtx, input: { name: 'Switch goal' } });
      const dry = await openSending(freshCtx, loadConfig({ CLOSELOOP_SECRET_KEY: 'a'.repeat(64) }), silent);
      expect(dry.dryRun).toBe(true);
      expect((await dry.submitter.drain()).goalsCreated).toBe(1);
      expect((await getGoal({ ctx: freshCtx, idOrName: goal.id })).msadsGoalId).not.toBeNull();

      await queueConversions(fresh, { goalId: goal.id, goalName: goal.name, count: 3 });
      const live = await openSending(
        freshCtx,
        loadConfig({
          CLOSELOOP_SECRET_KEY: 'a'.repeat(64),
          MSADS_API_BASE_URL: url,
          MSADS_OAUTH_TOKEN_URL: `${url}/common/oauth2/v2.0/token`,
          MSADS_REFRESH_TOKEN: real.issueRefreshToken({ clientId: 'app' }),
          MSADS_CLIENT_ID: 'app',
          MSADS_DEVELOPER_TOKEN: 'dev-token',
          MSADS_CUSTOMER_ID: '1000000',
          MSADS_ACCOUNT_ID: '2000000',
        }),
        silent,
      );
      expect(live.dryRun).toBe(false);
      const first = await live.submitter.drain();
      expect(first).toMatchObject({ goalsCreated: 1, calls: 0 });
      expect(real.goals('1000000').map((g) => g.name)).toEqual(['Switch goal']);
      const linked = await getGoal({ ctx: freshCtx, idOrName: goal.id });
      expect(linked.msadsGoalId).toBe(real.goals('1000000')[0]?.id);
      expect(linked.readyAt!.getTime() - clock.now().getTime()).toBeGreaterThanOrEqual(2 * 3600_000);
      expect(await states(fresh)).toEqual({ queued: 3 });

      clock.advance(2 * 3600_000 + 60_000);
      const second = await live.submitter.drain();
      expect(second).toMatchObject({ accepted: 3, rejected: 0 });
      expect(real.stats().accepted).toBe(3);
    } finally {
      server.close();
      await fresh.close();
    }
  });
});
