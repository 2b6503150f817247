import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sampleDelivery } from '../../connectors/calltracking/calltrackingmetrics.fixture.ts';
import type { Database } from '../../src/db/client.ts';
import { maxWebhookBytes } from '../../src/http/routes/webhooks.ts';
import { processWebhookEvents } from '../../src/services/webhook-processor.ts';
import { testClock } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { addAccount, addGoal } from '../helpers/submit.ts';
import { clickId, eventCount, events, signedCtm, webhookApp } from './helpers.ts';

const secret = 'ctm-account-secret';
let database: Database;
const clock = testClock('2026-11-30T12:00:00Z');
let t: Awaited<ReturnType<typeof webhookApp>>;
let ctm: Awaited<ReturnType<Awaited<ReturnType<typeof webhookApp>>['addSource']>>;
let generic: Awaited<ReturnType<Awaited<ReturnType<typeof webhookApp>>['addSource']>>;
const started = new Date('2026-11-29T10:00:00Z');

beforeAll(async () => {
  database = await createTestDatabase();
  await addAccount(database);
  // Ready at Microsoft three hours before this file's clock (the helper's default is three hours before
  // the real time, which is after the clock: the rows would be held for the goal).
  await addGoal(database, { name: 'Phone call', readyAt: new Date(started.getTime() - 3 * 3600_000) });
  t = await webhookApp(database, clock.now);
  ctm = await t.addSource({
    provider: 'calltrackingmetrics',
    name: 'CTM',
    goal: 'Phone call',
    secret,
    minDurationSec: 30,
  });
  generic = await t.addSource({
    provider: 'generic',
    name: 'Other',
    goal: 'Phone call',
    basicAuth: undefined,
  });
});
afterAll(async () => database?.close());
beforeEach(async () => {
  await database.query(sql`delete from webhook_events`);
  await database.query(sql`delete from adjustments`);
  await database.query(sql`delete from conversions`);
});

const ctmBody = (
  callId: string,
  over: { msclkid?: string | null; durationSec?: number; value?: string } = {},
) =>
  sampleDelivery({
    callId,
    msclkid: over.msclkid === undefined ? clickId(callId) : over.msclkid,
    startUtc: started,
    durationSec: over.durationSec ?? 120,
    ...(over.value ? { value: over.value } : {}),
  }).body;

const postCtm = (body: string, headers: Record<string, string> = {}, at = clock.now()) =>
  t.app.request(ctm.path, signedCtm(secret, body, at, headers));

describe('CTM webhook: authenticated, durable, idempotent', () => {
  it('a signed call is committed, acknowledged, and becomes one queued conversion', async () => {
    const res = await postCtm(ctmBody('9001'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: 1 });
    expect(await events(database)).toMatchObject([{ provider_call_id: '9001', state: 'pending' }]);
    const report = await processWebhookEvents({ ctx: t.ctx });
    expect(report).toEqual({ events: 1, outcomes: { conversion: 1 } });
    const [conversion] = await database.query<Record<string, unknown>>(
      sql`select goal_name, click_id, conversion_time, state, source, source_ref from conversions`,
    );
    expect(conversion).toMatchObject({
      goal_name: 'Phone call',
      click_id: clickId('9001'),
      state: 'queued',
      source: 'call',
      source_ref: 'call:calltrackingmetrics:9001',
    });
    expect(new Date(conversion!.conversion_time as string).toISOString()).toBe(started.toISOString());
    const [e] = await events(database);
    expect(e).toMatchObject({ state: 'processed', outcome: 'conversion' });
    expect(e!.conversion_id).not.toBeNull();
  });

  it('a redelivery (same call id, even re-signed later) is acknowledged and changes nothing', async () => {
    expect((await postCtm(ctmBody('9002'))).status).toBe(200);
    await processWebhookEvents({ ctx: t.ctx });
    expect((await postCtm(ctmBody('9002'))).status).toBe(200);
    expect((await postCtm(ctmBody('9002'))).status).toBe(200);
    expect(await processWebhookEvents({ ctx: t.ctx })).toEqual({
      events: 2,
      outcomes: { duplicate_delivery: 2 },
    });
    const [{ n }] = (await database.query<{ n: number }>(
      sql`select count(*)::int as n from conversions`,
    )) as [{ n: number }];
    expect(n).toBe(1);
  });

  it('redeliveries in one batch with the first also make one conversion', async () => {
    for (let i = 0; i < 3; i++) expect((await postCtm(ctmBody('9003'))).status).toBe(200);
    expect(await processWebhookEvents({ ctx: t.ctx })).toEqual({
      events: 3,
      outcomes: { conversion: 1, duplicate_delivery: 2 },
    });
  });

  it('a re-post with a new value restates the conversion already sent', async () => {
    await postCtm(ctmBody('9004', { value: '100.00' }));
    await processWebhookEvents({ ctx: t.ctx });
    clock.advance(60_000);
    await postCtm(ctmBody('9004', { value: '100' }));
    await postCtm(ctmBody('9004', { value: '150.5' }));
    expect(await processWebhookEvents({ ctx: t.ctx })).toEqual({
      events: 2,
      outcomes: { duplicate_delivery: 1, correction: 1 },
    });
    const adjustments = await database.query<Record<string, unknown>>(
      sql`select type, value, state, source, source_ref, conversion_id from adjustments`,
    );
    expect(adjustments).toMatchObject([
      {
        type: 'restate',
        value: '150.500',
        state: 'queued',
        source: 'call',
        source_ref: 'call:calltrackingmetrics:9004',
      },
    ]);
    const all = await events(database);
    expect(all.at(-1)).toMatchObject({ outcome: 'correction', value: '150.500' });
    expect(all.at(-1)!.adjustment_id).not.toBeNull();
  });

  it('no click ID, or shorter than the minimum: not qualifying, with the reason', async () => {
    await postCtm(ctmBody('9005', { msclkid: null }));
    await postCtm(ctmBody('9006', { durationSec: 12 }));
    expect(await processWebhookEvents({ ctx: t.ctx })).toEqual({
      events: 2,
      outcomes: { not_qualifying: 2 },
    });
    const [a, b] = await events(database);
    expect(a!.reason).toContain('no click ID');
    expect(b!.reason).toContain('below the minimum of 30 s');
  });

  it('a malformed click ID is rejected by the ledger checks, with their reason', async () => {
    await postCtm(ctmBody('9007', { msclkid: 'not-a-click-id' }));
    expect(await processWebhookEvents({ ctx: t.ctx })).toEqual({ events: 1, outcomes: { rejected: 1 } });
    expect((await events(database))[0]!.reason).toMatch(/Click ID/i);
  });

  it('wrong secret, stale or future time, missing or garbled signature: 401 and nothing stored', async () => {
    const body = ctmBody('9100');
    const wrong = signedCtm('another-secret', body, clock.now());
    expect((await t.app.request(ctm.path, wrong)).status).toBe(401);
    const stale = await postCtm(body, {}, new Date(clock.now().getTime() - 6 * 60_000));
    expect(stale.status).toBe(401);
    expect((await stale.json()).detail).toContain('5 minutes');
    expect((await postCtm(body, {}, new Date(clock.now().getTime() + 6 * 60_000))).status).toBe(401);
    const unsigned = { method: 'POST', headers: { 'content-type': 'application/json' }, body };
    expect((await t.app.request(ctm.path, unsigned)).status).toBe(401);
    expect((await postCtm(body, { 'x-ctm-signature': 'AAAA' })).status).toBe(401);
    // A replay of a captured delivery with its old headers, after the window.
    const captured = signedCtm(secret, body, clock.now());
    clock.advance(10 * 60_000);
    expect((await t.app.request(ctm.path, captured)).status).toBe(401);
    expect(await eventCount(database)).toBe(0);
  });

  it('a signed body that was altered on the way: 401, nothing stored', async () => {
    const req = signedCtm(secret, ctmBody('9101'), clock.now());
    const res = await t.app.request(ctm.path, {
      ...req,
      body: req.body.replace('"duration":120', '"duration":999'),
    });
    expect(res.status).toBe(401);
    expect(await eventCount(database)).toBe(0);
  });

  it('over the size limit: 413 before anything else, nothing stored', async () => {
    const huge = JSON.stringify({ id: 1, pad: 'x'.repeat(maxWebhookBytes) });
    const res = await postCtm(huge);
    expect(res.status).toBe(413);
    // Even for an unknown source: the limit comes first.
    const unknown = await t.app.request(
      '/webhooks/calltrackingmetrics/00000000-0000-4000-8000-000000000000',
      {
        method: 'POST',
        body: huge,
      },
    );
    expect(unknown.status).toBe(413);
    expect(await eventCount(database)).toBe(0);
  });

  it('malformed JSON, or a call without unix_time, signed correctly: 400 with the reason, nothing stored', async () => {
    const res = await postCtm('{"id": 12, "unix_time": ');
    expect(res.status).toBe(400);
    expect((await res.json()).detail).toContain('not valid JSON');
    const noTime = await postCtm(JSON.stringify({ id: 12, called_at: '2013-05-01 11:48 PM -04:00' }));
    expect(noTime.status).toBe(400);
    expect((await noTime.json()).detail).toContain('unix_time');
    expect(await eventCount(database)).toBe(0);
  });

  it('unknown source, a source of another provider, an id that is no UUID: 404 saying nothing more', async () => {
    for (const path of [
      '/webhooks/calltrackingmetrics/00000000-0000-4000-8000-000000000000',
      `/webhooks/calltrackingmetrics/${generic.id}`,
      '/webhooks/calltrackingmetrics/42',
    ]) {
      const res = await t.app.request(path, signedCtm(secret, ctmBody('1'), clock.now()));
      expect(res.status).toBe(404);
      expect((await res.json()).detail).toBe('No webhook source here.');
    }
    expect((await t.app.request(`/webhooks/hubspot/${ctm.id}`, { method: 'POST', body: '{}' })).status).toBe(
      404,
    );
    expect(await eventCount(database)).toBe(0);
  });
});

describe('token-authenticated providers (generic)', () => {
  const body = (callId: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      callId,
      startTime: started.toISOString(),
      durationSec: 90,
      msclkid: clickId(callId),
      value: '80',
      currency: 'EUR',
      ...extra,
    });
  const url = () => new URL(generic.url!);

  it('the printed URL carries the token; the token works in the query or the x-closeloop-token header', async () => {
    expect(generic.url).toMatch(
      /^https:\/\/calls\.example\.com\/webhooks\/generic\/[0-9a-f-]{36}\?token=[\w-]{32}$/,
    );
    const token = url().searchParams.get('token')!;
    const q = await t.app.request(`${generic.path}?token=${token}`, { method: 'POST', body: body('g1') });
    expect(q.status).toBe(200);
    const h = await t.app.request(generic.path, {
      method: 'POST',
      body: body('g2'),
      headers: { 'x-closeloop-token': token },
    });
    expect(h.status).toBe(200);
    const stored = await database.query<{ query: Record<string, string> }>(
      sql`select query from webhook_events`,
    );
    expect(stored.every((e) => !('token' in e.query))).toBe(true);
    expect(await processWebhookEvents({ ctx: t.ctx })).toEqual({ events: 2, outcomes: { conversion: 2 } });
  });

  it('no token, a wrong one, one of another source: 401, nothing stored', async () => {
    const other = await t.addSource({ provider: 'generic', name: `Other ${Date.now()}`, goal: 'Phone call' });
    const otherToken = new URL(other.url!).searchParams.get('token')!;
    for (const path of [generic.path, `${generic.path}?token=wrong`, `${generic.path}?token=${otherToken}`]) {
      const res = await t.app.request(path, { method: 'POST', body: body('g3') });
      expect(res.status).toBe(401);
    }
    expect(await eventCount(database)).toBe(0);
  });

  it('a cancelled sale retracts the conversion; a later delivery changes nothing', async () => {
    const path = `${generic.path}?token=${url().searchParams.get('token')}`;
    await t.app.request(path, { method: 'POST', body: body('g4') });
    await processWebhookEvents({ ctx: t.ctx });
    clock.advance(60_000);
    await t.app.request(path, { method: 'POST', body: body('g4', { cancelled: true }) });
    await t.app.request(path, { method: 'POST', body: body('g4', { value: '90' }) });
    expect(await processWebhookEvents({ ctx: t.ctx })).toEqual({
      events: 2,
      outcomes: { retraction: 1, duplicate_delivery: 1 },
    });
    expect(await database.query(sql`select type, state from adjustments`)).toEqual([
      { type: 'retract', state: 'queued' },
    ]);
  });

  it('GET is accepted where the adapter says; a method it does not use is not routed', async () => {
    const token = url().searchParams.get('token');
    const res = await t.app.request(
      `${generic.path}?token=${token}&callId=g5&startTime=${started.getTime()}&msclkid=${clickId('g5')}`,
    );
    expect(res.status).toBe(200);
    expect((await t.app.request(`${ctm.path}`, { method: 'GET' })).status).toBe(404);
  });

  it('basic auth, when the source has it, is required besides the token', async () => {
    const source = await t.addSource({
      provider: 'generic',
      name: `Basic ${Date.now()}`,
      goal: 'Phone call',
      basicAuth: 'calls:pa55',
    });
    const auth = `Basic ${Buffer.from('calls:pa55').toString('base64')}`;
    expect((await t.app.request(source.url!, { method: 'POST', body: body('g6') })).status).toBe(401);
    const wrong = `Basic ${Buffer.from('calls:nope').toString('base64')}`;
    expect(
      (
        await t.app.request(source.url!, {
          method: 'POST',
          body: body('g6'),
          headers: { authorization: wrong },
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await t.app.request(source.url!, {
          method: 'POST',
          body: body('g6'),
          headers: { authorization: auth },
        })
      ).status,
    ).toBe(200);
    expect(await eventCount(database)).toBe(1);
  });
  it('GET …/endpoint gives the URL again; rotate-token makes a new one and the old one stops working', async () => {
    const body = (callId: string) =>
      JSON.stringify({ callId, startTime: started.toISOString(), durationSec: 90, msclkid: clickId(callId) });
    const source = await t.addSource({
      provider: 'generic',
      name: `Rotate ${Date.now()}`,
      goal: 'Phone call',
    });
    const again = await t.api(`/api/v1/webhooks/${source.id}/endpoint`);
    expect(again.headers.get('cache-control')).toBe('no-store');
    expect(await again.json()).toEqual({ id: source.id, path: source.path, url: source.url });
    const oldPath = `${source.path}${new URL(source.url!).search}`;
    expect((await t.app.request(oldPath, { method: 'POST', body: body('r1') })).status).toBe(200);

    const rotated = await t.api(`/api/v1/webhooks/${encodeURIComponent(source.source.name)}/rotate-token`, {
      method: 'POST',
    });
    expect(rotated.status, await rotated.clone().text()).toBe(200);
    const fresh = (await rotated.json()) as { url: string };
    expect(fresh.url).toMatch(/\?token=[\w-]{32}$/);
    expect(fresh.url).not.toBe(source.url);
    clock.advance(10_001); // a receiving process keeps a source (and its token) this long
    expect((await t.app.request(oldPath, { method: 'POST', body: body('r2') })).status).toBe(401);
    const newPath = `${source.path}${new URL(fresh.url).search}`;
    expect((await t.app.request(newPath, { method: 'POST', body: body('r3') })).status).toBe(200);
    expect((await events(database)).map((e) => e.provider_call_id)).toEqual(['r1', 'r3']);

    const signs = await t.api(`/api/v1/webhooks/${ctm.id}/rotate-token`, { method: 'POST' });
    expect(signs.status).toBe(409);
    expect((await signs.json()).detail).toContain('signs its webhooks with the account secret');
  });
});

describe('/api/v1/webhooks', () => {
  it('lists sources without secrets, shows one, and its events with outcome and reason', async () => {
    await postCtm(ctmBody('9200'));
    await postCtm(ctmBody('9201', { msclkid: null }));
    await processWebhookEvents({ ctx: t.ctx });
    const list = await (await t.api('/api/v1/webhooks')).json();
    const text = JSON.stringify(list);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(new URL(generic.url!).searchParams.get('token'));
    expect(text).not.toMatch(/secretEnc|tokenEnc|v1:/);
    expect(list.webhooks.find((w: { name: string }) => w.name === 'CTM')).toMatchObject({
      provider: 'calltrackingmetrics',
      goal: 'Phone call',
      path: ctm.path,
      hasSecret: true,
    });
    const one = await t.api(`/api/v1/webhooks/ctm`);
    expect(one.status).toBe(200);
    const ev = await (await t.api(`/api/v1/webhooks/${ctm.id}/events`)).json();
    expect(
      ev.events.map((e: { providerCallId: string; outcome: string; ledgerState: string | null }) => [
        e.providerCallId,
        e.outcome,
        e.ledgerState,
      ]),
    ).toEqual([
      ['9201', 'not_qualifying', null],
      ['9200', 'conversion', 'queued'],
    ]);
    expect(ev.events[0].reason).toContain('no click ID');
    expect(await fetchStatus('/api/v1/webhooks', false)).toBe(401);
  });

  it('creates (the endpoint with its token once), changes and removes a source; clear errors', async () => {
    const created = await t.api('/api/v1/webhooks', {
      method: 'POST',
      json: { provider: 'generic', name: 'Via API', goal: 'Phone call', value: '25', currency: 'USD' },
    });
    expect(created.status).toBe(201);
    const body = await created.json();
    expect(body.endpoint.url).toContain('?token=');
    expect(body.value).toEqual({ fixed: '25.000', currency: 'USD' });
    const patched = await t.api(`/api/v1/webhooks/${body.id}`, { method: 'PATCH', json: { minTalkSec: 20 } });
    expect(await patched.json()).toMatchObject({ minTalkSec: 20 });
    expect((await t.api(`/api/v1/webhooks/${body.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await t.api(`/api/v1/webhooks/${body.id}`)).status).toBe(404);
    const unknown = await t.api('/api/v1/webhooks', {
      method: 'POST',
      json: { provider: 'calltrackingmetric', name: 'x', goal: 'Phone call' },
    });
    expect(unknown.status).toBe(422);
    expect((await unknown.json()).detail).toContain('Did you mean "calltrackingmetrics"?');
    const noSecret = await t.api('/api/v1/webhooks', {
      method: 'POST',
      json: { provider: 'calltrackingmetrics', name: 'y', goal: 'Phone call' },
    });
    expect((await noSecret.json()).detail).toContain('secret');
    const badGoal = await t.api('/api/v1/webhooks', {
      method: 'POST',
      json: { provider: 'generic', name: 'z', goal: 'phone call' },
    });
    expect((await badGoal.json()).detail).toContain('did you mean "Phone call"?');
  });
});

async function fetchStatus(path: string, withKey: boolean) {
  return (withKey ? await t.api(path) : await t.app.request(path)).status;
}
