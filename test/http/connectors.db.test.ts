import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubspotSignatureV3 } from '../../connectors/hubspot/webhook-signature.ts';
import type { Database } from '../../src/db/client.ts';
import { createSecrets } from '../../src/secrets.ts';
import { listRuns } from '../../src/services/connectors.ts';
import { allowLoopback, defaultPolicy } from '../fakes/guard.ts';
import { testApp } from '../helpers/app.ts';
import { testClock } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { memoryCrm } from '../helpers/deal-source.ts';
import { addGoal } from '../helpers/submit.ts';

const secrets = createSecrets(randomBytes(32));
const clock = testClock(new Date(Date.now() - 3_600_000));
const crm = memoryCrm();
let database: Database;
let t: Awaited<ReturnType<typeof testApp>>;

beforeAll(async () => {
  database = await createTestDatabase();
  await addGoal(database, { name: 'Won deal' });
  t = await testApp(database, clock.now, {
    crm: { secrets, policy: allowLoopback, sources: crm.factory() },
  });
});
afterAll(() => database?.close());

const hubspot = {
  kind: 'hubspot',
  name: 'HubSpot EU',
  goal: 'Won deal',
  settings: { wonStages: ['closedwon', 'contractsigned'], currency: 'eur' },
  secrets: { token: 'pat-na1-very-secret', webhookSecret: 'client-secret-xyz' },
};

describe('/api/v1/connectors', () => {
  it('creates, lists, reads, changes and removes; secrets never come back', async () => {
    const created = await t.call('/api/v1/connectors', { method: 'POST', json: hubspot });
    expect(created.status).toBe(201);
    const body = await created.text();
    expect(body).not.toContain('very-secret');
    expect(body).not.toContain('client-secret-xyz');
    const view = JSON.parse(body);
    expect(view).toMatchObject({
      kind: 'hubspot',
      name: 'HubSpot EU',
      settings: {
        wonStages: ['closedwon', 'contractsigned'],
        currency: 'EUR',
        clickIdProperty: 'msclkid',
        baseUrl: null,
      },
      secretsSet: ['token', 'webhookSecret'],
      intervalMinutes: 15,
      synced: false,
    });
    const list = await (await t.call('/api/v1/connectors')).text();
    expect(list).not.toContain('very-secret');
    expect(JSON.parse(list).connectors).toHaveLength(1);
    expect((await t.call(`/api/v1/connectors/${view.id}`)).status).toBe(200);
    const patched = await t.call('/api/v1/connectors/HubSpot%20EU', {
      method: 'PATCH',
      json: { intervalMinutes: 5 },
    });
    expect(await patched.json()).toMatchObject({ intervalMinutes: 5 });
    const copy = await t.call('/api/v1/connectors', { method: 'POST', json: { ...hubspot, name: 'second' } });
    const second = await copy.json();
    expect((await t.call(`/api/v1/connectors/${second.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await t.call(`/api/v1/connectors/${second.id}`)).status).toBe(404);
  });

  it('answers bad input with one problem naming each field', async () => {
    const unknownKind = await t.call('/api/v1/connectors', {
      method: 'POST',
      json: { ...hubspot, kind: 'pipedrive' },
    });
    expect(unknownKind.status).toBe(422);
    expect((await unknownKind.json()).detail).toContain('salesforce, hubspot');
    const badGoal = await t.call('/api/v1/connectors', {
      method: 'POST',
      json: { ...hubspot, name: 'x', goal: 'won deal' },
    });
    expect(badGoal.status).toBe(404);
    expect((await badGoal.json()).detail).toContain('did you mean "Won deal"');
    const noToken = await t.call('/api/v1/connectors', {
      method: 'POST',
      json: { ...hubspot, name: 'y', secrets: {} },
    });
    expect(noToken.status).toBe(422);
    expect((await noToken.json()).detail).toContain('token');
    const dup = await t.call('/api/v1/connectors', { method: 'POST', json: hubspot });
    expect(dup.status).toBe(409);
    expect((await t.call('/api/v1/connectors', { headers: { authorization: 'Bearer nope' } })).status).toBe(
      401,
    );
  });

  it('tests, syncs and lists runs with counts', async () => {
    crm.put({
      dealId: 'D1',
      name: 'Acme',
      won: true,
      wonAt: new Date(clock.now().getTime() - 86_400_000),
      closeDateNoon: null,
      amount: '10',
      currency: null,
      click: { clickId: 'e'.repeat(32), rule: 'deal.msclkid', capturedAt: null },
      deleted: false,
      mergedInto: null,
      modifiedAt: clock.now(),
    });
    const tested = await t.call('/api/v1/connectors/HubSpot%20EU/test', { method: 'POST' });
    expect(await tested.json()).toMatchObject({ signedInAs: 'memory CRM', dealsRead: 1, apiCalls: 1 });
    const synced = await t.call('/api/v1/connectors/HubSpot%20EU/sync', { method: 'POST' });
    expect(await synced.json()).toMatchObject({
      status: 'succeeded',
      mode: 'backfill',
      counts: { conversions: 1, dealsRead: 1 },
    });
    const runs = await (await t.call('/api/v1/connectors/HubSpot%20EU/runs')).json();
    expect(runs.runs).toEqual([
      expect.objectContaining({
        trigger: 'api',
        status: 'succeeded',
        counts: expect.objectContaining({ conversions: 1 }),
      }),
    ]);
    expect((await t.call('/api/v1/connectors/nope/sync', { method: 'POST' })).status).toBe(404);
  });
});

describe('POST /webhooks/hubspot/:connectorId', () => {
  const body = '[{"objectId":1,"subscriptionType":"deal.propertyChange","propertyName":"dealstage"}]';
  async function post(id: string, headers: Record<string, string>, payload = body) {
    return t.app.request(`/webhooks/hubspot/${id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: payload,
    });
  }
  const signed = (id: string, secret = 'client-secret-xyz', timestamp = String(clock.now().getTime())) => ({
    'x-hubspot-request-timestamp': timestamp,
    'x-hubspot-signature-v3': hubspotSignatureV3({
      clientSecret: secret,
      method: 'POST',
      uri: `http://localhost/webhooks/hubspot/${id}`,
      body,
      timestamp,
    }),
  });

  it('a valid signature starts a sync without waiting for it; no API key needed', async () => {
    const { connectors } = await (await t.call('/api/v1/connectors')).json();
    const id = connectors[0].id as string;
    const before = (await listRuns({ ctx: t.ctx, idOrName: id })).length;
    clock.advance(1000);
    const res = await post(id, signed(id));
    expect(res.status).toBe(202);
    await expect
      .poll(async () => (await listRuns({ ctx: t.ctx, idOrName: id })).length, { timeout: 10_000 })
      .toBe(before + 1);
    expect((await listRuns({ ctx: t.ctx, idOrName: id }))[0]).toMatchObject({ trigger: 'webhook' });
  });

  it('refuses a wrong secret, a changed body, a stale timestamp and unknown connectors', async () => {
    const { connectors } = await (await t.call('/api/v1/connectors')).json();
    const id = connectors[0].id as string;
    expect((await post(id, signed(id, 'wrong'))).status).toBe(401);
    expect((await post(id, signed(id), `${body} `)).status).toBe(401);
    expect(
      (await post(id, signed(id, 'client-secret-xyz', String(clock.now().getTime() - 6 * 60_000)))).status,
    ).toBe(401);
    expect((await post(id, {})).status).toBe(401);
    expect((await post('not-a-uuid', signed('x'))).status).toBe(404);
    expect(
      (await post('00000000-0000-4000-8000-000000000000', signed('00000000-0000-4000-8000-000000000000')))
        .status,
    ).toBe(404);
  });
});

describe('/api/v1/connectors: address policy', () => {
  it('refuses a base URL on a non-public address when CLOSELOOP_ALLOW_PRIVATE_SOURCES is unset', async () => {
    const closed = await testApp(database, clock.now, {
      crm: { secrets, policy: defaultPolicy, sources: crm.factory() },
    });
    const before = (await (await closed.call('/api/v1/connectors')).json()).connectors.length;
    const refused = await closed.call('/api/v1/connectors', {
      method: 'POST',
      json: { ...hubspot, name: 'metadata', settings: { baseUrl: 'http://169.254.169.254/latest' } },
    });
    expect(refused.status).toBe(422);
    expect((await refused.json()).detail).toMatch(
      /^The base URL http:\/\/169\.254\.169\.254\/latest: 169\.254\.169\.254 is a link-local address.*CLOSELOOP_ALLOW_PRIVATE_SOURCES/,
    );
    expect((await (await closed.call('/api/v1/connectors')).json()).connectors).toHaveLength(before);
  });
});
