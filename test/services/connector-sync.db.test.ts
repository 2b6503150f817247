import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DealRecord } from '../../connectors/deals.ts';
import type { Database } from '../../src/db/client.ts';
import { connectors, crmDeals } from '../../src/db/schema/index.ts';
import { createSecrets } from '../../src/secrets.ts';
import { syncConnector } from '../../src/services/connector-sync.ts';
import {
  addConnector,
  getConnector,
  listRuns,
  readSecrets,
  removeConnector,
} from '../../src/services/connectors.ts';
import type { SubmitAccount } from '../../src/submit/submitter.ts';
import { allowLoopback } from '../fakes/guard.ts';
import { testClock, testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { memoryCrm } from '../helpers/deal-source.ts';
import { addAccount, addGoal, emulatorClient, resetSending, testSubmitter } from '../helpers/submit.ts';

const goalName = 'Won deal';
const day = 86_400_000;
const secrets = createSecrets(randomBytes(32));
let database: Database;
let account: SubmitAccount;
const clock = testClock(new Date());
const ctx = () => testContext(database, clock.now);

beforeAll(async () => {
  database = await createTestDatabase();
  account = await addAccount(database);
  await addGoal(database, { name: goalName, currency: 'USD' });
});
afterAll(() => database?.close());
beforeEach(async () => {
  // An hour behind the real clock: the test moves it on, and the emulator refuses times in its future.
  clock.set(new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000));
  await resetSending(database, goalName);
  for (const c of await ctx().database.db.select().from(connectors))
    await removeConnector({ ctx: ctx(), idOrName: c.id });
});

const clickOf = (n: number) => n.toString(16).padStart(32, 'c');

function deal(n: number, over: Partial<DealRecord> = {}): DealRecord {
  const now = clock.now().getTime();
  return {
    dealId: `D${n}`,
    name: `Deal ${n}`,
    won: true,
    wonAt: new Date(now - 2 * day + n * 1000),
    closeDateNoon: new Date(now - 2 * day),
    amount: `${100 + n}`,
    currency: 'EUR',
    click: { clickId: clickOf(n), rule: 'deal.msclkid', capturedAt: new Date(now - 10 * day) },
    deleted: false,
    mergedInto: null,
    modifiedAt: new Date(now - 60_000),
    ...over,
  };
}

async function connector(name = 'hs') {
  return addConnector({
    ctx: ctx(),
    secrets,
    policy: allowLoopback,
    input: { kind: 'hubspot', name, goal: goalName, settings: {}, secrets: { token: 'pat-secret' } },
  });
}

const ledger = () =>
  database.query<{
    click_id: string;
    conversion_time: Date;
    value: string;
    currency: string;
    state: string;
    source: string;
    source_ref: string;
  }>(
    sql`select click_id, conversion_time, value::text, currency, state, source, source_ref from conversions order by id`,
  );
const adjustmentRows = () =>
  database.query<{
    type: string;
    value: string | null;
    currency: string | null;
    state: string;
    source_ref: string;
    conversion_time: Date;
    adjustment_time: Date;
  }>(
    sql`select a.type, a.value::text, a.currency, a.state, a.source_ref, c.conversion_time, a.adjustment_time
          from adjustments a join conversions c on c.id = a.conversion_id order by a.id`,
  );

describe('syncConnector', () => {
  it('won deals become conversions with the deal reference; open, no-click and zero-amount deals are counted by reason', async () => {
    const crm = memoryCrm();
    await connector();
    crm.put(deal(1));
    crm.put(deal(2, { currency: null }));
    crm.put(deal(3, { won: false, wonAt: null }));
    crm.put(deal(4, { click: null }));
    crm.put(deal(5, { amount: '' }));
    crm.put(
      deal(6, {
        click: {
          clickId: clickOf(6),
          rule: 'contact:7.msclkid',
          capturedAt: new Date(clock.now().getTime() - 200 * day),
        },
      }),
    );
    const report = await syncConnector({
      ctx: ctx(),
      secrets,
      policy: allowLoopback,
      id: 'hs',
      sources: crm.factory(),
    });
    expect(report).toMatchObject({ status: 'succeeded', mode: 'backfill', error: null });
    expect(report.counts).toMatchObject({
      dealsRead: 6,
      pages: 2,
      conversions: 2,
      restates: 0,
      retracts: 0,
      skipped: { not_won: 1, no_click_id: 1, zero_amount: 1, click_too_old: 1 },
      apiCalls: 2,
    });
    expect(report.skippedDeals.map((s) => [s.dealId, s.reason])).toEqual([
      ['D3', 'not_won'],
      ['D4', 'no_click_id'],
      ['D5', 'zero_amount'],
      ['D6', 'click_too_old'],
    ]);
    const rows = await ledger();
    expect(rows).toEqual([
      expect.objectContaining({
        click_id: clickOf(1),
        value: '101.000',
        currency: 'EUR',
        state: 'queued',
        source: 'crm',
        source_ref: 'crm:hs:D1',
      }),
      // Rule D: no deal currency, no connector currency → the goal's.
      expect.objectContaining({ click_id: clickOf(2), currency: 'USD', source_ref: 'crm:hs:D2' }),
    ]);
    expect(new Date(rows[0]!.conversion_time).toISOString()).toBe(
      new Date(deal(1).wonAt!.getTime()).toISOString(),
    );
    const [state] = await database.db.select().from(crmDeals).where(eq(crmDeals.dealId, 'D4'));
    expect(state).toMatchObject({ skipReason: 'no_click_id' });
    expect((await getConnector({ ctx: ctx(), idOrName: 'hs' })).cursor).toBe('6');
  });

  it('won → restate → retract → re-won, each change exactly once, repeating the stored conversion time', async () => {
    const crm = memoryCrm();
    await connector();
    crm.put(deal(1));
    const firstWonAt = deal(1).wonAt!;
    const sync = (full = false) =>
      syncConnector({ ctx: ctx(), secrets, policy: allowLoopback, id: 'hs', sources: crm.factory(), full });
    expect((await sync()).counts.conversions).toBe(1);
    clock.advance(60_000);
    // A stage move between won stages with a new won time: the conversion time does not move.
    crm.change('D1', {
      amount: '250',
      wonAt: new Date(clock.now().getTime() - 1000),
      modifiedAt: clock.now(),
    });
    expect((await sync()).counts).toMatchObject({ restates: 1, conversions: 0 });
    // Read again (nothing changed in the CRM since the cursor) and fully: nothing new.
    expect((await sync()).counts).toMatchObject({ dealsRead: 0, restates: 0 });
    expect((await sync(true)).counts).toMatchObject({
      dealsRead: 1,
      unchanged: 1,
      restates: 0,
      conversions: 0,
    });
    clock.advance(60_000);
    crm.change('D1', { currency: 'GBP', modifiedAt: clock.now() });
    expect((await sync()).counts.restates).toBe(1);
    clock.advance(60_000);
    crm.change('D1', { amount: '0', modifiedAt: clock.now() });
    expect((await sync()).counts).toMatchObject({ restates: 0, skipped: { zero_amount: 1 } });
    clock.advance(60_000);
    crm.change('D1', { won: false, modifiedAt: clock.now() });
    expect((await sync()).counts.retracts).toBe(1);
    clock.advance(60_000);
    crm.change('D1', { won: false, name: 'renamed', modifiedAt: clock.now() });
    expect((await sync()).counts).toMatchObject({ retracts: 0, skipped: { not_won: 1 } });
    clock.advance(60_000);
    const rewonAt = new Date(clock.now().getTime() - 30_000);
    crm.change('D1', { won: true, amount: '300', wonAt: rewonAt, modifiedAt: clock.now() });
    expect((await sync()).counts.conversions).toBe(1);

    const conversions = await ledger();
    expect(conversions.map((c) => [c.value, new Date(c.conversion_time).toISOString()])).toEqual([
      ['101.000', firstWonAt.toISOString()],
      ['300.000', rewonAt.toISOString()],
    ]);
    const adjustments = await adjustmentRows();
    expect(adjustments.map((a) => [a.type, a.value, a.currency])).toEqual([
      ['restate', '250.000', 'EUR'],
      ['restate', '250.000', 'GBP'],
      ['retract', null, null],
    ]);
    for (const a of adjustments) {
      expect(new Date(a.conversion_time).toISOString()).toBe(firstWonAt.toISOString());
      expect(new Date(a.adjustment_time).getTime()).toBeGreaterThan(new Date(a.conversion_time).getTime());
      expect(a.source_ref).toBe('crm:hs:D1');
    }
  });

  it('one click, two deals won in the same second: the later moves on by a second, and both are sent', async () => {
    const crm = memoryCrm();
    await connector();
    const wonAt = new Date(clock.now().getTime() - day);
    const click = { clickId: clickOf(42), rule: 'deal.msclkid', capturedAt: null };
    crm.put(deal(1, { wonAt, click }));
    crm.put(deal(2, { wonAt, click }));
    await syncConnector({ ctx: ctx(), secrets, policy: allowLoopback, id: 'hs', sources: crm.factory() });
    // A third, in a later sync, takes the next free second after both.
    crm.put(deal(3, { wonAt, click }));
    await syncConnector({ ctx: ctx(), secrets, policy: allowLoopback, id: 'hs', sources: crm.factory() });
    const rows = await ledger();
    expect(
      rows.map((r) => [r.source_ref, r.state, new Date(r.conversion_time).getTime() - wonAt.getTime()]),
    ).toEqual([
      ['crm:hs:D1', 'queued', 0],
      ['crm:hs:D2', 'queued', 1000],
      ['crm:hs:D3', 'queued', 2000],
    ]);
    // A Restate of the moved deal repeats its moved time.
    clock.advance(60_000);
    crm.change('D2', { amount: '1', modifiedAt: clock.now() });
    await syncConnector({ ctx: ctx(), secrets, policy: allowLoopback, id: 'hs', sources: crm.factory() });
    const [restate] = await adjustmentRows();
    expect(new Date(restate!.conversion_time).getTime() - wonAt.getTime()).toBe(1000);
    expect(restate!.state).toBe('queued');
  });

  it('deleted and merged deals retract what was sent', async () => {
    const crm = memoryCrm();
    await connector();
    crm.put(deal(1));
    crm.put(deal(2));
    crm.put(deal(3, { deleted: true }));
    await syncConnector({ ctx: ctx(), secrets, policy: allowLoopback, id: 'hs', sources: crm.factory() });
    clock.advance(60_000);
    crm.change('D1', { deleted: true, modifiedAt: clock.now() });
    crm.change('D2', { mergedInto: 'D9', modifiedAt: clock.now() });
    const report = await syncConnector({
      ctx: ctx(),
      secrets,
      policy: allowLoopback,
      id: 'hs',
      sources: crm.factory(),
    });
    expect(report.counts).toMatchObject({ retracts: 2 });
    expect((await adjustmentRows()).map((a) => a.source_ref)).toEqual(['crm:hs:D1', 'crm:hs:D2']);
  });

  it('a CRM failure mid-sync keeps the pages before it; the next sync resumes: nothing lost, nothing twice', async () => {
    const crm = memoryCrm({ pageSize: 2 });
    await connector();
    for (let n = 1; n <= 7; n++) crm.put(deal(n));
    crm.failOnPage(3);
    const failed = await syncConnector({
      ctx: ctx(),
      secrets,
      policy: allowLoopback,
      id: 'hs',
      sources: crm.factory(),
    });
    expect(failed).toMatchObject({ status: 'failed', error: 'the CRM failed on page 3' });
    expect(failed.counts).toMatchObject({ dealsRead: 4, conversions: 4 });
    const c = await getConnector({ ctx: ctx(), idOrName: 'hs' });
    expect(c).toMatchObject({
      cursor: '4',
      failures: 1,
      lastError: 'the CRM failed on page 3',
      leaseUntil: null,
    });
    crm.failOnPage(undefined);
    clock.advance(1000);
    const resumed = await syncConnector({
      ctx: ctx(),
      secrets,
      policy: allowLoopback,
      id: 'hs',
      sources: crm.factory(),
    });
    expect(resumed.counts).toMatchObject({ dealsRead: 3, conversions: 3 });
    const rows = await ledger();
    expect(rows.map((r) => r.source_ref).sort()).toEqual(
      ['D1', 'D2', 'D3', 'D4', 'D5', 'D6', 'D7'].map((d) => `crm:hs:${d}`),
    );
    expect((await getConnector({ ctx: ctx(), idOrName: 'hs' })).failures).toBe(0);
    const runs = await listRuns({ ctx: ctx(), idOrName: 'hs' });
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'failed']);
  });

  it('a crash inside a page (before it commits) rolls the whole page back: ledger, states and cursor', async () => {
    const crm = memoryCrm({ pageSize: 2 });
    await connector();
    for (let n = 1; n <= 4; n++) crm.put(deal(n));
    // A deal whose record cannot be stored (an invalid modified time): the failure comes when the deals'
    // state is written, after the page's ledger rows, inside the same transaction.
    crm.put(deal(5, { modifiedAt: new Date(Number.NaN) }));
    const failed = await syncConnector({
      ctx: ctx(),
      secrets,
      policy: allowLoopback,
      id: 'hs',
      sources: crm.factory(),
    });
    expect(failed.status).toBe('failed');
    expect(failed.counts.conversions).toBe(4);
    expect((await ledger()).length).toBe(4);
    expect((await getConnector({ ctx: ctx(), idOrName: 'hs' })).cursor).toBe('4');
  });

  it('a page read twice (overlap) and the same deal twice in a page make one conversion', async () => {
    const crm = memoryCrm({ pageSize: 5 });
    await connector();
    crm.put(deal(1));
    const first = crm.source();
    const twice = {
      test: first.test,
      async *pull() {
        for await (const page of first.pull(null)) {
          yield { ...page, deals: [...page.deals, ...page.deals] };
          yield page;
        }
      },
    };
    const report = await syncConnector({
      ctx: ctx(),
      secrets,
      policy: allowLoopback,
      id: 'hs',
      sources: async () => twice,
    });
    expect(report.counts).toMatchObject({ dealsRead: 3, conversions: 1, unchanged: 1 });
    expect((await ledger()).length).toBe(1);
  });

  it('first seen won (no stage history) on an incremental sync; the time is kept while the amount is missing', async () => {
    const crm = memoryCrm();
    await connector();
    crm.put(deal(1, { won: false, wonAt: null }));
    await syncConnector({ ctx: ctx(), secrets, policy: allowLoopback, id: 'hs', sources: crm.factory() });
    clock.advance(5 * 60_000);
    const seenAt = clock.now();
    crm.change('D1', { won: true, wonAt: null, amount: null, modifiedAt: clock.now() });
    expect(
      (await syncConnector({ ctx: ctx(), secrets, policy: allowLoopback, id: 'hs', sources: crm.factory() }))
        .counts.skipped,
    ).toEqual({ zero_amount: 1 });
    clock.advance(60 * 60_000);
    crm.change('D1', { amount: '75', modifiedAt: clock.now() });
    expect(
      (await syncConnector({ ctx: ctx(), secrets, policy: allowLoopback, id: 'hs', sources: crm.factory() }))
        .counts.conversions,
    ).toBe(1);
    expect(new Date((await ledger())[0]!.conversion_time).toISOString()).toBe(seenAt.toISOString());
  });

  it('a conversion the checks refuse (paused goal) is counted as rejected and not remembered as sent', async () => {
    const crm = memoryCrm();
    await connector();
    await database.query(sql`update goals set status = 'paused' where name = ${goalName}`);
    try {
      crm.put(deal(1));
      const report = await syncConnector({
        ctx: ctx(),
        secrets,
        policy: allowLoopback,
        id: 'hs',
        sources: crm.factory(),
      });
      expect(report.counts).toMatchObject({ conversions: 0, rejected: { GOAL_PAUSED: 1 } });
      const [state] = await database.db.select().from(crmDeals).where(eq(crmDeals.dealId, 'D1'));
      expect(state).toMatchObject({ conversionTime: null, skipReason: 'rejected' });
    } finally {
      await database.query(sql`update goals set status = 'active' where name = ${goalName}`);
    }
    // After the goal is resumed, a full sync sends it.
    const again = await syncConnector({
      ctx: ctx(),
      secrets,
      policy: allowLoopback,
      id: 'hs',
      sources: crm.factory(),
      full: true,
    });
    expect(again.counts.conversions).toBe(1);
  });

  it('one sync at a time per connector', async () => {
    const crm = memoryCrm();
    await connector();
    crm.put(deal(1));
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow = crm.source();
    const first = syncConnector({
      ctx: ctx(),
      secrets,
      policy: allowLoopback,
      id: 'hs',
      sources: async () => ({
        test: slow.test,
        async *pull(cursor) {
          await gate;
          yield* slow.pull(cursor);
        },
      }),
    });
    await new Promise((r) => setTimeout(r, 50));
    await expect(
      syncConnector({ ctx: ctx(), secrets, policy: allowLoopback, id: 'hs', sources: crm.factory() }),
    ).rejects.toThrow(/under way/);
    release();
    expect((await first).counts.conversions).toBe(1);
  });

  it('tokens refreshed by the CRM client are stored encrypted at once', async () => {
    await connector();
    const report = await syncConnector({
      ctx: ctx(),
      secrets,
      policy: allowLoopback,
      id: 'hs',
      sources: async ({ events }) => ({
        test: async () => ({ signedInAs: 'x', dealsRead: 0, notes: [] }),
        // biome-ignore lint/correctness/useYield: a CRM that fails before its first page
        async *pull() {
          await events.onTokens?.({ accessToken: 'new-access', refreshToken: 'new-refresh' });
          throw new Error('stop right after the refresh');
        },
      }),
    });
    expect(report.status).toBe('failed');
    const c = await getConnector({ ctx: ctx(), idOrName: 'hs' });
    expect(c.secretsEnc).not.toContain('new-refresh');
    expect(readSecrets(c, secrets)).toEqual({
      token: 'pat-secret',
      accessToken: 'new-access',
      refreshToken: 'new-refresh',
    });
  });

  it('the conversions and adjustments then reach Microsoft (the emulator) in order', async () => {
    const emulator = await resetSending(database, goalName);
    const crm = memoryCrm();
    await connector();
    crm.put(deal(1));
    crm.put(deal(2));
    await syncConnector({ ctx: ctx(), secrets, policy: allowLoopback, id: 'hs', sources: crm.factory() });
    const submitter = testSubmitter(database, [{ account, client: emulatorClient(emulator.fetch, account) }]);
    await submitter.drain();
    clock.advance(60_000);
    crm.change('D1', { amount: '999.5', modifiedAt: clock.now() });
    crm.change('D2', { won: false, modifiedAt: clock.now() });
    await syncConnector({ ctx: ctx(), secrets, policy: allowLoopback, id: 'hs', sources: crm.factory() });
    await submitter.drain();
    expect((await ledger()).map((r) => r.state)).toEqual(['accepted', 'accepted']);
    expect((await adjustmentRows()).map((a) => [a.type, a.state])).toEqual([
      ['restate', 'accepted'],
      ['retract', 'accepted'],
    ]);
    const sent = [...emulator.adjustments()].map((a) => [
      a.adjustmentType,
      a.adjustmentValue,
      a.microsoftClickId,
    ]);
    expect(sent).toEqual([
      ['Restate', 999.5, clickOf(1)],
      ['Retract', undefined, clickOf(2)],
    ]);
    expect([...emulator.conversions()].map((c) => [c.microsoftClickId, c.conversionCurrencyCode])).toEqual([
      [clickOf(1), 'EUR'],
      [clickOf(2), 'EUR'],
    ]);
  });
});
