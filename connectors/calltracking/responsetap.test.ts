import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeResponseTap, startFakeResponseTap } from '../../test/fakes/responsetap-server.ts';
import { ConnectorError } from '../deals.ts';
import { callDetail, fixtureTimeZone, sampleDelivery } from './responsetap.fixture.ts';
import { responsetap } from './responsetap.ts';
import { expectFixtureRoundTrip, parseOne, reasonFor } from './test-support.ts';

const poller = responsetap.poller!;
const credentials = { apiKey: 'rt-user:rt-key', accountId: '4321' };
const adapter = { timeZone: fixtureTimeZone };
const click = (n: number) => n.toString(16).padStart(32, '0');

function detail(id: string, startUtc: string, msclkid: string | null = click(Number(id.replace(/\D/g, '')))) {
  return callDetail({ callId: id, msclkid, startUtc: new Date(startUtc), durationSec: 120 });
}

describe('responsetap adapter', () => {
  it('is polled: no webhook methods, a poller every 15 minutes', () => {
    expect(responsetap.methods).toEqual([]);
    expect(responsetap.auth).toBe('polled');
    expect(poller.intervalMs).toBe(900_000);
  });

  it('reads a calls/{id} body: local start time in Europe/London (BST), disposition, landing page', () => {
    const call = parseOne(
      responsetap,
      { method: 'GET', body: JSON.stringify(detail('7', '2026-07-01T12:00:00Z')) },
      adapter,
    );
    expect(call).toMatchObject({
      providerCallId: '7',
      durationSec: 120,
      talkSec: 111,
      answered: true,
      callerE164: '+447700900456',
      msclkid: click(7),
    });
    expect(call.startUtc).toEqual(new Date('2026-07-01T12:00:00Z'));
  });

  it('the source renames fields once a real body is seen', () => {
    const body = JSON.stringify({ callUuid: 'x1', callStart: 1782907200, customerNumber: '+447700900456' });
    const call = parseOne(
      responsetap,
      { method: 'GET', body },
      { fields: { providerCallId: 'callUuid', startUtc: 'callStart' } },
    );
    expect(call.providerCallId).toBe('x1');
    expect(call.startUtc).toEqual(new Date(1782907200_000));
  });

  it('refuses an empty or malformed body', () => {
    expect(reasonFor(responsetap, { method: 'GET', body: '' })).toBe('empty ResponseTap call body');
    expect(reasonFor(responsetap, { method: 'GET', body: '{"cdrUniqueId":' })).toMatch(
      /^malformed JSON body/,
    );
  });

  it('parses its fixture (the calls/{id} page) back to the call it was built from', () => {
    expectFixtureRoundTrip(responsetap, sampleDelivery, adapter);
  });
});

describe('responsetap poller against a fake ResponseTap', () => {
  let fake: FakeResponseTap;
  beforeEach(async () => {
    fake = await startFakeResponseTap(credentials);
  });
  afterEach(async () => {
    await fake.close();
  });

  const poll = (cursor: string | null, now: string) =>
    poller.poll({ fetch, credentials, baseUrl: fake.baseUrl, cursor, now: new Date(now), adapter });

  it('reads every day from the cursor to today (one list page per day) and each call on them', async () => {
    fake.addCall('2026-11-27', 'c1', detail('c1', '2026-11-27T09:00:00Z'));
    fake.addCall('2026-11-28', 'c2', detail('c2', '2026-11-28T10:00:00Z'));
    fake.addCall('2026-11-28', 'c3', detail('c3', '2026-11-28T11:00:00Z', null));
    fake.addCall('2026-11-29', 'c4', detail('c4', '2026-11-29T12:00:00Z'));
    fake.addCall('2026-11-30', 'c5', detail('c5', '2026-11-30T08:00:00Z'));
    const first = await poll(JSON.stringify({ day: '2026-11-28', seen: [] }), '2026-11-30T08:30:00Z');
    expect(first.calls.map((call) => call.providerCallId)).toEqual(['c2', 'c3', 'c4', 'c5']);
    expect(first.calls.map((call) => call.startUtc.toISOString())).toEqual([
      '2026-11-28T10:00:00.000Z',
      '2026-11-28T11:00:00.000Z',
      '2026-11-29T12:00:00.000Z',
      '2026-11-30T08:00:00.000Z',
    ]);
    expect(first.calls[1]!.msclkid).toBeNull();
    expect(fake.requests.filter((path) => path.startsWith('/cdrids'))).toEqual([
      '/cdrids?fromDate=2026-11-28&toDate=2026-11-28',
      '/cdrids?fromDate=2026-11-29&toDate=2026-11-29',
      '/cdrids?fromDate=2026-11-30&toDate=2026-11-30',
    ]);
    expect(JSON.parse(first.cursor)).toEqual({ day: '2026-11-30', seen: ['c5'] });
  });

  it('the cursor overlaps: today is listed again, a call finished since is read, the ones read are not fetched twice', async () => {
    fake.addCall('2026-11-30', 'c1', detail('c1', '2026-11-30T08:00:00Z'));
    const first = await poll(null, '2026-11-30T08:30:00Z');
    expect(first.calls.map((call) => call.providerCallId)).toEqual(['c1']);
    fake.addCall('2026-11-30', 'c2', detail('c2', '2026-11-30T08:20:00Z'));
    fake.requests.length = 0;
    const second = await poll(first.cursor, '2026-11-30T08:45:00Z');
    expect(second.calls.map((call) => call.providerCallId)).toEqual(['c2']);
    expect(fake.requests).toEqual(['/cdrids?fromDate=2026-11-30&toDate=2026-11-30', '/calls/c2']);
    // Over midnight: yesterday is listed once more (late calls), then today; the cursor moves to today.
    fake.addCall('2026-11-30', 'c3', detail('c3', '2026-11-30T23:59:00Z'));
    fake.addCall('2026-12-01', 'c4', detail('c4', '2026-12-01T00:05:00Z'));
    const third = await poll(second.cursor, '2026-12-01T00:10:00Z');
    expect(third.calls.map((call) => call.providerCallId)).toEqual(['c3', 'c4']);
    expect(JSON.parse(third.cursor)).toEqual({ day: '2026-12-01', seen: ['c4'] });
  });

  it('a first poll (no cursor) starts one interval before now', async () => {
    fake.addCall('2026-11-29', 'old', detail('old', '2026-11-29T23:50:00Z'));
    fake.addCall('2026-11-30', 'new', detail('new', '2026-11-30T00:05:00Z'));
    const result = await poll(null, '2026-11-30T00:10:00Z');
    expect(result.calls.map((call) => call.providerCallId)).toEqual(['old', 'new']);
  });

  it('wrong credentials: a clear, non-retryable error naming the account', async () => {
    const error = await poller
      .poll({
        fetch,
        credentials: { ...credentials, apiKey: 'wrong' },
        baseUrl: fake.baseUrl,
        cursor: null,
        now: new Date('2026-11-30T08:30:00Z'),
        adapter,
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'auth', retryable: false });
    expect((error as Error).message).toMatch(
      /ResponseTap refused the credentials for account 4321 \(HTTP 401\)/,
    );
  });

  it('missing credentials, a server error (retryable) and a cursor it did not write', async () => {
    await expect(
      poller.poll({ fetch, credentials: { apiKey: 'k' }, cursor: null, now: new Date(), adapter }),
    ).rejects.toThrow('ResponseTap needs the credentials apiKey and accountId');
    fake.failWith = 503;
    await expect(poll(null, '2026-11-30T08:30:00Z')).rejects.toMatchObject({ code: 'http', retryable: true });
    fake.failWith = null;
    await expect(poll('2026-11-30', '2026-11-30T08:30:00Z')).rejects.toMatchObject({ code: 'bad_cursor' });
  });

  it('a call it cannot read stops the poll with its id (nothing is skipped silently)', async () => {
    fake.addCall('2026-11-30', 'bad', { cdrUniqueId: 'bad', startTime: 'soon' });
    await expect(poll(null, '2026-11-30T08:30:00Z')).rejects.toThrow(
      /ResponseTap call bad: field "startTime": expected epoch seconds or milliseconds/,
    );
  });
});
