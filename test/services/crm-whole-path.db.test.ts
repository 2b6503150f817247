import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { createSecrets } from '../../src/secrets.ts';
import { syncConnector } from '../../src/services/connector-sync.ts';
import { addConnector, getConnector, readSecrets, testConnector } from '../../src/services/connectors.ts';
import type { SubmitAccount } from '../../src/submit/submitter.ts';
import { allowLoopback, defaultPolicy } from '../fakes/guard.ts';
import { fakeContact, fakeDeal, startFakeHubspot } from '../fakes/hubspot-server.ts';
import { startFakeSalesforce } from '../fakes/salesforce-server.ts';
import { testContext } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { addAccount, addGoal, emulatorClient, resetSending, testSubmitter } from '../helpers/submit.ts';

/*
 * The whole path, CRM to Microsoft: a fake HubSpot on loopback read through the real connector and
 * @hubspot/api-client (the registry's module), the rules, the ledger, then the submitter and the emulator.
 */
const secrets = createSecrets(randomBytes(32));
let database: Database;
let account: SubmitAccount;
beforeAll(async () => {
  database = await createTestDatabase();
  account = await addAccount(database);
  await addGoal(database, { name: 'Won deal' });
});
afterAll(() => database?.close());

describe('HubSpot → ledger → Microsoft', () => {
  it('won deals (click ID on the deal, or on a contact) are accepted by the emulator', async () => {
    const day = 86_400_000;
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 - day);
    const fake = await startFakeHubspot({
      deals: [
        fakeDeal({ id: '1', at, amount: '120.5', currency: 'EUR', clickId: 'a'.repeat(32) }),
        fakeDeal({ id: '2', at, amount: '80', contacts: [{ id: '7' }] }),
        fakeDeal({ id: '3', at, amount: '99' }),
      ],
      contacts: [fakeContact('7', [{ value: 'b'.repeat(32), at: new Date(at.getTime() - 5 * day) }])],
    });
    try {
      const ctx = testContext(database, () => new Date());
      const emulator = await resetSending(database, 'Won deal');
      await addConnector({
        ctx,
        secrets,
        policy: allowLoopback,
        input: {
          kind: 'hubspot',
          name: 'hs',
          goal: 'Won deal',
          settings: { baseUrl: fake.url },
          secrets: { token: fake.token },
        },
      });
      const report = await syncConnector({ ctx, secrets, policy: allowLoopback, id: 'hs' });
      expect(report).toMatchObject({
        status: 'succeeded',
        counts: { dealsRead: 3, conversions: 2, skipped: { no_click_id: 1 } },
      });
      expect(report.counts.apiCalls).toBeGreaterThan(0);
      await testSubmitter(database, [{ account, client: emulatorClient(emulator.fetch, account) }]).drain();
      const rows = await database.query<{ source_ref: string; state: string }>(
        sql`select source_ref, state from conversions order by source_ref`,
      );
      expect(rows).toEqual([
        { source_ref: 'crm:hs:1', state: 'accepted' },
        { source_ref: 'crm:hs:2', state: 'accepted' },
      ]);
      expect(
        [...emulator.conversions()]
          .map((c) => [c.microsoftClickId, c.conversionValue, c.conversionTime])
          .sort(),
      ).toEqual([
        ['a'.repeat(32), 120.5, `${at.toISOString().slice(0, 19)}Z`],
        ['b'.repeat(32), 80, `${at.toISOString().slice(0, 19)}Z`],
      ]);
    } finally {
      await fake.close();
    }
  });

  it('Salesforce: won opportunities, then a new amount and a lost deal, all accepted; refreshed tokens stored', async () => {
    const fake = await startFakeSalesforce({
      opportunityCount: 8,
      base: new Date(Date.now() - 2 * 86_400_000),
    });
    try {
      const ctx = testContext(database, () => new Date());
      const emulator = await resetSending(database, 'Won deal');
      const submitter = testSubmitter(database, [
        { account, client: emulatorClient(emulator.fetch, account) },
      ]);
      await addConnector({
        ctx,
        secrets,
        policy: allowLoopback,
        input: {
          kind: 'salesforce',
          name: 'sf',
          goal: 'Won deal',
          settings: { loginUrl: fake.loginUrl, clientId: fake.clientId },
          secrets: { clientSecret: fake.clientSecret, refreshToken: fake.refreshToken() },
        },
      });
      const first = await syncConnector({ ctx, secrets, policy: allowLoopback, id: 'sf' });
      expect(first).toMatchObject({ status: 'succeeded', counts: { dealsRead: 8, conversions: 2 } });
      // The access token the connector got by refreshing is stored (encrypted) at once.
      expect(readSecrets(await getConnector({ ctx, idOrName: 'sf' }), secrets)).toHaveProperty('accessToken');
      await submitter.drain();
      fake.setAmount(fake.opportunityId(0), 5000);
      fake.lose(fake.opportunityId(4));
      const second = await syncConnector({ ctx, secrets, policy: allowLoopback, id: 'sf' });
      expect(second.counts).toMatchObject({ restates: 1, retracts: 1, conversions: 0 });
      await submitter.drain();
      expect(
        await database.query(
          sql`select source_ref, state from conversions where source = 'crm' and source_ref like 'crm:sf:%' order by 1`,
        ),
      ).toEqual([
        { source_ref: `crm:sf:${fake.opportunityId(0)}`, state: 'accepted' },
        { source_ref: `crm:sf:${fake.opportunityId(4)}`, state: 'accepted' },
      ]);
      expect(await database.query(sql`select type, state from adjustments order by type`)).toEqual([
        { type: 'restate', state: 'accepted' },
        { type: 'retract', state: 'accepted' },
      ]);
      expect([...emulator.adjustments()].map((a) => a.adjustmentType).sort()).toEqual(['Restate', 'Retract']);
    } finally {
      await fake.close();
    }
  });
});

describe('address policy (CLOSELOOP_ALLOW_PRIVATE_SOURCES unset)', () => {
  it('add refuses a login or base URL on loopback, saves nothing, and nothing reaches the CRM', async () => {
    const sf = await startFakeSalesforce({ opportunityCount: 1 });
    const hs = await startFakeHubspot({ deals: [] });
    try {
      const ctx = testContext(database, () => new Date());
      const salesforce = await addConnector({
        ctx,
        secrets,
        policy: defaultPolicy,
        input: {
          kind: 'salesforce',
          name: 'sf-private',
          goal: 'Won deal',
          settings: { loginUrl: sf.loginUrl, clientId: sf.clientId },
          secrets: { clientSecret: sf.clientSecret, refreshToken: sf.refreshToken() },
        },
      }).catch((e: unknown) => e);
      expect(salesforce).toMatchObject({ failure: 'private_address' });
      expect((salesforce as Error).message).toMatch(
        /^The login URL http:\/\/localhost:\d+: localhost \((127\.0\.0\.1|::1)\) is a loopback address.*CLOSELOOP_ALLOW_PRIVATE_SOURCES=1/,
      );
      const hubspot = await addConnector({
        ctx,
        secrets,
        policy: defaultPolicy,
        input: {
          kind: 'hubspot',
          name: 'hs-private',
          goal: 'Won deal',
          settings: { baseUrl: hs.url },
          secrets: { token: hs.token },
        },
      }).catch((e: unknown) => e);
      expect((hubspot as Error).message).toMatch(
        /^The base URL http:\/\/127\.0\.0\.1:\d+: 127\.0\.0\.1 is a loopback/,
      );
      await expect(getConnector({ ctx, idOrName: 'sf-private' })).rejects.toThrow(/No connector/);
      await expect(getConnector({ ctx, idOrName: 'hs-private' })).rejects.toThrow(/No connector/);
      expect(sf.requests).toEqual([]);
      expect(hs.requests).toEqual([]);
    } finally {
      await sf.close();
      await hs.close();
    }
  });

  it('a sync or test of a connector on loopback is refused, and nothing reaches the CRM', async () => {
    const sf = await startFakeSalesforce({ opportunityCount: 3 });
    const hs = await startFakeHubspot({ deals: [] });
    try {
      const ctx = testContext(database, () => new Date());
      // Saved while private addresses were allowed (or a name that resolves elsewhere now).
      await addConnector({
        ctx,
        secrets,
        policy: allowLoopback,
        input: {
          kind: 'salesforce',
          name: 'sf-later',
          goal: 'Won deal',
          settings: { loginUrl: sf.loginUrl, clientId: sf.clientId },
          secrets: { clientSecret: sf.clientSecret, refreshToken: sf.refreshToken() },
        },
      });
      await addConnector({
        ctx,
        secrets,
        policy: allowLoopback,
        input: {
          kind: 'hubspot',
          name: 'hs-later',
          goal: 'Won deal',
          settings: { baseUrl: hs.url },
          secrets: { token: hs.token },
        },
      });
      for (const name of ['sf-later', 'hs-later']) {
        const report = await syncConnector({ ctx, secrets, policy: defaultPolicy, id: name });
        expect(report.status).toBe('failed');
        expect(report.error).toMatch(
          /^private_address: .* is a loopback address.*CLOSELOOP_ALLOW_PRIVATE_SOURCES/,
        );
        await expect(testConnector({ ctx, secrets, policy: defaultPolicy, idOrName: name })).rejects.toThrow(
          /failed its test: private_address: .* is a loopback address/,
        );
      }
      expect(sf.requests).toEqual([]);
      expect(hs.requests).toEqual([]);
      expect(readSecrets(await getConnector({ ctx, idOrName: 'sf-later' }), secrets)).not.toHaveProperty(
        'accessToken',
      );
    } finally {
      await sf.close();
      await hs.close();
    }
  });
});
