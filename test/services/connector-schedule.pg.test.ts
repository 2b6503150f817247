import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { createSecrets } from '../../src/secrets.ts';
import { claimDueConnector, runDueSyncs } from '../../src/services/connector-schedule.ts';
import { addConnector, getConnector } from '../../src/services/connectors.ts';
import { allowLoopback } from '../fakes/guard.ts';
import { testClock, testContext } from '../helpers/context.ts';
import { createPostgresDatabaseUrl } from '../helpers/db.ts';
import { memoryCrm } from '../helpers/deal-source.ts';
import { addGoal, quietLog } from '../helpers/submit.ts';

// Four connection pools on one PostgreSQL stand for four `serve` processes polling at the same moment.
const secrets = createSecrets(randomBytes(32));
let pools: Database[] = [];
let drop: () => Promise<void>;

beforeAll(async () => {
  const created = await createPostgresDatabaseUrl();
  drop = created.drop;
  for (let i = 0; i < 4; i++) pools.push(await openDatabase({ kind: 'postgres', url: created.url, max: 3 }));
  await addGoal(pools[0]!, { name: 'Deal' });
});
afterAll(async () => {
  for (const p of pools) await p.close();
  pools = [];
  await drop?.();
});

describe('connector syncs from several processes', () => {
  it('each interval runs once: one process wins the compare-and-set on next_sync_at', async () => {
    const clock = testClock(new Date(Date.now() - 3_600_000));
    const crm = memoryCrm();
    crm.put({
      dealId: 'D1',
      name: null,
      won: true,
      wonAt: new Date(clock.now().getTime() - 86_400_000),
      closeDateNoon: null,
      amount: '10',
      currency: 'USD',
      click: { clickId: 'd'.repeat(32), rule: 'deal.msclkid', capturedAt: null },
      deleted: false,
      mergedInto: null,
      modifiedAt: clock.now(),
    });
    const first = testContext(pools[0]!, clock.now);
    await addConnector({
      ctx: first,
      secrets,
      policy: allowLoopback,
      input: { kind: 'hubspot', name: 'a', goal: 'Deal', secrets: { token: 't' }, intervalMinutes: 15 },
    });
    await addConnector({
      ctx: first,
      secrets,
      policy: allowLoopback,
      input: { kind: 'hubspot', name: 'b', goal: 'Deal', secrets: { token: 't' }, intervalMinutes: 30 },
    });
    const runAll = () =>
      Promise.all(
        pools.map((p) =>
          runDueSyncs({
            ctx: testContext(p, clock.now),
            secrets,
            policy: allowLoopback,
            log: quietLog,
            sources: crm.factory(),
          }),
        ),
      );
    const runs = async () =>
      (
        await pools[0]!.query<{ name: string; n: number }>(sql`
        select c.name, count(*)::int as n from connector_runs r join connectors c on c.id = r.connector_id
         group by c.name order by c.name`)
      ).map((r) => [r.name, Number(r.n)]);

    for (let round = 0; round < 3; round++) await runAll();
    expect(await runs()).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
    clock.advance(15 * 60_000);
    for (let round = 0; round < 3; round++) await runAll();
    expect(await runs()).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    clock.advance(15 * 60_000);
    await runAll();
    expect(await runs()).toEqual([
      ['a', 3],
      ['b', 2],
    ]);
    // Both connectors read the same CRM: the second arrival of the deal is a duplicate, never sent twice.
    expect(
      await pools[0]!.query(
        sql`select state, count(*)::int as n from conversions group by state order by state`,
      ),
    ).toEqual([
      { state: 'duplicate', n: 1 },
      { state: 'queued', n: 1 },
    ]);
  });

  it('the claim alone: of many processes claiming one due connector at once, exactly one wins', async () => {
    const clock = testClock(new Date(Date.now() + 7 * 86_400_000));
    for (let round = 0; round < 5; round++) {
      clock.advance(3 * 86_400_000);
      const claims = await Promise.all(
        [...pools, ...pools].map((p) => claimDueConnector(testContext(p, clock.now))),
      );
      // Every connector is due; each is handed to one claimant only.
      const names = claims.filter((c) => c !== undefined).map((c) => c!.name);
      expect(names.length).toBeGreaterThan(0);
      expect(new Set(names).size).toBe(names.length);
    }
  });

  it('a failing connector is recorded with backoff and the others go on', async () => {
    const clock = testClock(new Date(Date.now() + 30 * 86_400_000));
    const ctx = testContext(pools[0]!, clock.now);
    await addConnector({
      ctx,
      secrets,
      policy: allowLoopback,
      input: {
        kind: 'salesforce',
        name: 'broken',
        goal: 'Deal',
        secrets: { clientSecret: 's', refreshToken: 'r' },
        settings: { loginUrl: 'http://127.0.0.1:1', clientId: 'c' },
      },
    });
    const failing = async () => ({
      test: async () => ({ signedInAs: '', dealsRead: 0, notes: [] }),
      // biome-ignore lint/correctness/useYield: a CRM that fails before its first page
      async *pull() {
        throw new Error('invalid_grant: expired access/refresh token');
      },
    });
    const reports = await runDueSyncs({
      ctx,
      secrets,
      policy: allowLoopback,
      log: quietLog,
      sources: failing,
    });
    expect(reports.map((r) => [r.connector.name, r.status])).toEqual([
      ['a', 'failed'],
      ['b', 'failed'],
      ['broken', 'failed'],
    ]);
    for (let i = 1; i <= 3; i++) {
      clock.advance(24 * 3_600_000);
      await runDueSyncs({ ctx, secrets, policy: allowLoopback, log: quietLog, sources: failing });
    }
    const broken = await getConnector({ ctx, idOrName: 'broken' });
    expect(broken).toMatchObject({ failures: 4, lastError: 'invalid_grant: expired access/refresh token' });
    // 15 min × 2^3 = 2 hours after the last failure.
    expect(broken.nextSyncAt.getTime() - clock.now().getTime()).toBe(2 * 3_600_000);
  });
  it('a next_sync_at written by SQL, with microseconds, is claimed too (once)', async () => {
    const clock = testClock(new Date(Date.now() + 90 * 86_400_000));
    await pools[0]!.query(
      sql`update connectors set next_sync_at = now() + interval '89 days 0.000123 seconds', lease_until = null`,
    );
    const claims = await Promise.all(pools.map((p) => claimDueConnector(testContext(p, clock.now))));
    const names = claims.filter((c) => c !== undefined).map((c) => c!.name);
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
  });
});
