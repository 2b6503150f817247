import { afterEach, describe, expect, it } from 'vitest';
import { type FakeHubspot, fakeDeal, startFakeHubspot } from '../../test/fakes/hubspot-server.ts';
import { fakeSource, pullAll } from '../../test/fakes/hubspot-source.ts';
import { ConnectorError } from '../deals.ts';
import { createHubspotConnector } from './index.ts';

const t0 = Date.parse('2026-06-01T10:00:00Z');
const deals = (count: number) =>
  Array.from({ length: count }, (_, i) =>
    fakeDeal({
      id: String(100 + i),
      stage: 'appointmentscheduled',
      at: new Date(t0 + i * 1000),
      amount: '1',
    }),
  );

let fake: FakeHubspot | null = null;
afterEach(async () => {
  await fake?.close();
  fake = null;
});

async function failure(promise: Promise<unknown>): Promise<ConnectorError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConnectorError) return error;
    throw error;
  }
  throw new Error('expected a ConnectorError');
}

describe('HubSpot requests: limits and failures', () => {
  it('stays at 4 requests per rolling second per portal, and counts each request', async () => {
    // The fake answers 429 past 5 requests in a rolling second, as HubSpot's search does: the
    // connector's own pacing (4, with a margin for requests that arrive closer than they left) meets none.
    fake = await startFakeHubspot({ deals: deals(40), maxPerSecond: 5 });
    const waits: string[] = [];
    const sent: number[] = [];
    const source = fakeSource(fake, {
      connector: { requestsPerSecond: 4, pageSize: 4 },
      events: { onWait: (_ms, reason) => waits.push(reason), onApiCall: () => sent.push(performance.now()) },
    });
    const { deals: read } = await pullAll(source, null);
    expect(read).toHaveLength(40);
    expect(waits).toEqual([]);
    expect(sent.length).toBe(fake.requests.length);
    // account-info, 10 search pages, the archived list.
    expect(sent.length).toBe(12);
    for (const [i, start] of sent.entries()) {
      const fifth = sent[i + 4];
      if (fifth !== undefined) expect(fifth - start).toBeGreaterThanOrEqual(1000);
    }
  }, 20_000);

  it('waits Retry-After on a 429 (reported as a wait) and goes on', async () => {
    fake = await startFakeHubspot({ deals: deals(30), tooManyEvery: 3, retryAfterSeconds: 1 });
    const waits: { ms: number; reason: string }[] = [];
    const source = fakeSource(fake, {
      connector: { pageSize: 10 },
      events: { onWait: (ms, reason) => waits.push({ ms, reason }) },
    });
    const started = Date.now();
    const { deals: read } = await pullAll(source, null);
    expect(read.map((d) => d.dealId)).toEqual(deals(30).map((d) => d.id));
    expect(waits.length).toBeGreaterThanOrEqual(1);
    expect(waits.every((w) => w.ms === 1000 && /429/.test(w.reason))).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(waits.length * 1000 - 50);
  }, 20_000);

  it('retries a 5xx with backoff, and fails retryable when HubSpot stays down', async () => {
    fake = await startFakeHubspot({ deals: deals(3) });
    const waits: string[] = [];
    fake.failNext(2, 503);
    const source = fakeSource(fake, { events: { onWait: (_ms, reason) => waits.push(reason) } });
    expect((await pullAll(source, null)).deals).toHaveLength(3);
    expect(waits).toHaveLength(2);
    fake.failNext(100, 502);
    const error = await failure(pullAll(fakeSource(fake), null));
    expect(error).toMatchObject({
      code: 'unavailable',
      retryable: true,
      request: 'GET /account-info/v3/details',
    });
  });

  it('fails a wrong token at once: unauthorized, not retryable, naming the token and its scopes', async () => {
    fake = await startFakeHubspot({ deals: deals(3) });
    const error = await failure(pullAll(fakeSource(fake, { token: 'pat-wrong' }), null));
    expect(error.code).toBe('unauthorized');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/private app's access token/);
    expect(error.message).toMatch(/crm\.objects\.deals\.read and crm\.objects\.contacts\.read/);
    expect(error.message).not.toContain('pat-wrong');
    expect(fake.requests).toHaveLength(1);
  });

  it('refuses options that are not numbers, naming them', () => {
    expect(() => createHubspotConnector({ requestsPerSecond: Number.NaN })).toThrow(/`requestsPerSecond`/);
    expect(() => createHubspotConnector({ pageSize: 500 })).toThrow(/`pageSize` to be from 1 to 200/);
  });
});

describe('HubSpot test()', () => {
  it('signs in, reads one page and notes a missing click-ID property', async () => {
    fake = await startFakeHubspot({
      deals: deals(25),
      portalId: 4242,
      customProperties: { deals: [], contacts: ['msclkid'] },
    });
    const result = await fakeSource(fake).test();
    expect(result.signedInAs).toBe('HubSpot portal 4242');
    expect(result.dealsRead).toBe(10);
    expect(result.notes).toContain('time zone US/Eastern');
    expect(result.notes.some((n) => /deals property 'msclkid' does not exist/.test(n))).toBe(true);
    expect(result.notes.some((n) => /contacts property/.test(n))).toBe(false);
  });

  it('says what is wrong with the token', async () => {
    fake = await startFakeHubspot();
    const error = await failure(fakeSource(fake, { token: 'nope' }).test());
    expect(error.code).toBe('unauthorized');
  });
});

describe('HubSpot in the registry', () => {
  it('is loaded by kind', async () => {
    const { crmConnectors } = await import('../registry.ts');
    const connector = await crmConnectors.hubspot?.();
    expect(connector?.kind).toBe('hubspot');
  });
});
