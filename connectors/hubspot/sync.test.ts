import { afterEach, describe, expect, it } from 'vitest';
import { defaultPolicy, guardFor, onlyGuardResolves } from '../../test/fakes/guard.ts';
import {
  type FakeHubspot,
  fakeContact,
  fakeDeal,
  startFakeHubspot,
} from '../../test/fakes/hubspot-server.ts';
import { fakeSource, pullAll } from '../../test/fakes/hubspot-source.ts';
import { ConnectorError } from '../deals.ts';

const day = 86_400_000;
const t0 = Date.parse('2026-06-01T10:00:00Z');
const at = (ms: number) => new Date(t0 + ms);
const click = (n: number) => n.toString(16).padStart(32, '0');

let fake: FakeHubspot | null = null;
afterEach(async () => {
  await fake?.close();
  fake = null;
});

/** Open deals (no history reads), one per second from t0, unless `modified` says otherwise. */
function generated(count: number, modified: (index: number) => number = (i) => t0 + i * 1000) {
  return {
    dealCount: count,
    generate: (index: number) => ({
      properties: {
        dealname: `Deal ${index}`,
        dealstage: 'appointmentscheduled',
        amount: '100',
        hs_lastmodifieddate: new Date(modified(index)).toISOString(),
      },
      createdAt: new Date(t0 - day),
      history: {},
      contacts: [],
    }),
  };
}

describe('HubSpot pull: paging and windows', () => {
  it('follows every page, a page at a time, and resumes after its cursor', async () => {
    fake = await startFakeHubspot(generated(250));
    const source = fakeSource(fake);
    const pages = source.pull(null)[Symbol.asyncIterator]();
    const first = await pages.next();
    // One page read and handed over before the next is asked for: memory holds one page.
    expect(fake.requests.filter((r) => r.endsWith('/search'))).toHaveLength(1);
    expect(first.value?.deals).toHaveLength(100);
    await pages.return?.();

    const all = await pullAll(source, null);
    expect(all.deals.filter((d) => !d.deleted).map((d) => d.dealId)).toEqual(
      Array.from({ length: 250 }, (_, i) => String(1001 + i)),
    );
    expect(all.pages.length).toBeGreaterThanOrEqual(3);
    const again = await pullAll(source, all.cursor);
    expect(again.deals.map((d) => d.dealId)).toEqual(['1250']); // the last deal's timestamp, read again by id
    // A sync starts overlapMs (5 minutes by default) before its cursor: search lags behind changes.
    const overlapping = fakeSource(fake, { connector: { overlapMs: 60_000 } });
    expect((await pullAll(overlapping, all.cursor)).deals).toHaveLength(61);
    // A cursor this connector did not write: everything is read again.
    expect((await pullAll(source, 'something-else')).deals).toHaveLength(250);
  });

  it('reads more than 10,000 deals changed in one window, and 10,000+ sharing one timestamp, each once', async () => {
    // 10,150 distinct times, then 10,100 deals at one instant (a bulk import), then 50 more.
    const distinct = 10_150;
    const tied = 10_100;
    fake = await startFakeHubspot(
      generated(distinct + tied + 50, (i) =>
        i < distinct ? t0 + i * 1000 : i < distinct + tied ? t0 + distinct * 1000 : t0 + i * 1000,
      ),
    );
    const source = fakeSource(fake);
    const { deals } = await pullAll(source, null, AbortSignal.timeout(25_000));
    const ids = deals.map((d) => d.dealId);
    expect(new Set(ids).size).toBe(distinct + tied + 50);
    expect(ids.length).toBe(distinct + tied + 50);
    expect(fake.requests.filter((r) => r.endsWith('/search')).length).toBeLessThan(220);
  }, 60_000);
});

describe('HubSpot pull: deals as HubSpot has them', () => {
  it('finds the click ID on the contact that had it before the deal was won, not the first contact', async () => {
    const won = at(10 * day);
    fake = await startFakeHubspot({
      deals: [
        fakeDeal({
          id: '500',
          at: won,
          amount: '1250.50',
          contacts: [{ id: '1' }, { id: '2', label: 'Decision maker' }, { id: '3' }],
        }),
        fakeDeal({ id: '501', at: won, amount: '10', contacts: [{ id: '4' }] }),
      ],
      contacts: [
        fakeContact('1', [{ value: click(1), at: at(0) }]),
        // Newest before the won time; changed after it (the value then is the one that counts).
        fakeContact('2', [
          { value: click(2), at: at(8 * day) },
          { value: click(22), at: at(11 * day) },
        ]),
        // Set only after the deal was won.
        fakeContact('3', [{ value: click(3), at: at(12 * day) }]),
        fakeContact('4', []),
      ],
    });
    const { deals } = await pullAll(fakeSource(fake), null);
    const deal = deals.find((d) => d.dealId === '500');
    expect(deal?.click).toEqual({
      clickId: click(2),
      rule: 'contact:2(label Decision maker).msclkid',
      capturedAt: at(8 * day),
    });
    expect(deal?.won).toBe(true);
    expect(deal?.wonAt).toEqual(won);
    expect(deals.find((d) => d.dealId === '501')?.click).toBeNull();
  });

  it('reads the click ID on the deal first, and no contacts then', async () => {
    fake = await startFakeHubspot({
      deals: [fakeDeal({ id: '7', at: at(0), amount: '5', clickId: click(7), contacts: [{ id: '1' }] })],
      contacts: [fakeContact('1', [{ value: click(1), at: at(-day) }])],
    });
    const { deals } = await pullAll(fakeSource(fake), null);
    expect(deals[0]?.click).toEqual({ clickId: click(7), rule: 'deal.msclkid', capturedAt: at(-day) });
    expect(fake.requests.some((r) => r.includes('associations'))).toBe(false);
  });

  it('reads click IDs from contacts the fake generates on demand (the CRM benchmark), and their changes', async () => {
    // Deals 1001… and their contacts 9001… generated from the index: nothing is held until read.
    fake = await startFakeHubspot({
      dealCount: 3,
      generate: (i, id) => {
        const { id: _id, ...deal } = fakeDeal({ id, at: at(i * 1000), contacts: [{ id: String(9001 + i) }] });
        return deal;
      },
      generateContact: (id) =>
        Number(id) >= 9001 && Number(id) <= 9003
          ? fakeContact(id, [{ value: click(Number(id)), at: at(-day) }])
          : null,
    });
    expect(fake.store.contacts.size).toBe(0);
    fake.store.setContactProperty('9002', 'msclkid', click(42), at(-day / 2));
    const { deals } = await pullAll(fakeSource(fake), null);
    expect(deals.map((d) => [d.dealId, d.click?.clickId, d.click?.rule])).toEqual([
      ['1001', click(9001), 'contact:9001.msclkid'],
      ['1002', click(42), 'contact:9002.msclkid'],
      ['1003', click(9003), 'contact:9003.msclkid'],
    ]);
    expect(fake.store.contact('9004')).toBeNull();
  });
  it('takes the won time from the latest move into a won stage, and hs_v2_date_entered without history', async () => {
    const rewon = fakeDeal({ id: '10', at: at(0), amount: '1', clickId: click(10) });
    rewon.history.dealstage?.push(
      { value: 'closedlost', timestamp: at(day) },
      { value: 'closedwon', timestamp: at(2 * day) },
      { value: 'contractsigned', timestamp: at(3 * day) }, // a second won stage: the run began at day 2
    );
    rewon.properties.dealstage = 'contractsigned';
    rewon.properties.hs_lastmodifieddate = at(3 * day).toISOString();
    const noHistory = fakeDeal({ id: '11', at: at(5 * day), amount: '1', clickId: click(11) });
    noHistory.history.dealstage = [];
    fake = await startFakeHubspot({ deals: [rewon, noHistory] });
    const { deals } = await pullAll(
      fakeSource(fake, { settings: { wonStages: ['closedwon', 'contractsigned'] } }),
      null,
    );
    expect(deals.find((d) => d.dealId === '10')?.wonAt).toEqual(at(2 * day));
    expect(deals.find((d) => d.dealId === '11')?.wonAt).toEqual(at(5 * day));
  });

  it('parses amounts strictly: empty is null, never 0; 1,000 is not a number', async () => {
    fake = await startFakeHubspot({
      deals: [
        fakeDeal({ id: '20', at: at(0), amount: '' }),
        fakeDeal({ id: '21', at: at(1000), amount: '1,000' }),
        fakeDeal({ id: '22', at: at(2000), amount: '1250.50' }),
      ],
    });
    const { deals } = await pullAll(fakeSource(fake), null);
    const byId = new Map(deals.map((d) => [d.dealId, d]));
    expect(byId.get('20')?.amount).toBeNull();
    expect(byId.get('20')?.notes).toBeUndefined();
    expect(byId.get('21')?.amount).toBeNull();
    expect(byId.get('21')?.notes?.[0]).toMatch(/'1,000' is not a number/);
    expect(byId.get('22')?.amount).toBe('1250.50');
  });

  it('takes the deal currency, else the company currency, else the configured one', async () => {
    const deals = [fakeDeal({ id: '30', at: at(0), currency: 'eur' }), fakeDeal({ id: '31', at: at(1000) })];
    fake = await startFakeHubspot({ deals });
    let read = (await pullAll(fakeSource(fake), null)).deals;
    expect(read.map((d) => d.currency)).toEqual(['EUR', 'USD']);
    await fake.close();
    // Not in account-info: the currencies endpoint.
    fake = await startFakeHubspot({ deals, companyCurrency: null, currencyEndpoint: 'GBP' });
    read = (await pullAll(fakeSource(fake), null)).deals;
    expect(read.map((d) => d.currency)).toEqual(['EUR', 'GBP']);
    await fake.close();
    // Unknown to HubSpot (no settings scope): the connector's currency.
    fake = await startFakeHubspot({ deals, companyCurrency: null, currencyEndpoint: null });
    read = (await pullAll(fakeSource(fake, { settings: { currency: 'CAD' } }), null)).deals;
    expect(read.map((d) => d.currency)).toEqual(['EUR', 'CAD']);
  });

  it("gives closedate's calendar day in the portal's time zone at noon there", async () => {
    // 03:00 UTC on 10 January is still 9 January in New York (EST, UTC-5).
    fake = await startFakeHubspot({
      deals: [fakeDeal({ id: '40', at: at(0), closedate: new Date('2026-01-10T03:00:00Z') })],
      timeZone: 'America/New_York',
    });
    const { deals } = await pullAll(fakeSource(fake), null);
    expect(deals[0]?.closeDateNoon).toEqual(new Date('2026-01-09T17:00:00Z'));
  });
});

describe('HubSpot pull: changes between syncs', () => {
  it('sees wins, amount changes, losses, deletions and merges after the cursor', async () => {
    fake = await startFakeHubspot({
      deals: [
        fakeDeal({ id: '60', stage: 'appointmentscheduled', at: at(0), amount: '100', clickId: click(60) }),
        fakeDeal({ id: '61', at: at(1000), amount: '200', clickId: click(61) }),
        fakeDeal({ id: '62', at: at(2000), amount: '300', clickId: click(62) }),
        fakeDeal({ id: '63', at: at(3000), amount: '400', clickId: click(63) }),
        fakeDeal({ id: '64', at: at(4000), amount: '500', clickId: click(64) }),
        fakeDeal({ id: '65', at: at(5000), amount: '600', clickId: click(65) }),
      ],
    });
    const source = fakeSource(fake);
    const first = await pullAll(source, null);
    expect(first.deals.map((d) => [d.dealId, d.won])).toEqual([
      ['60', false],
      ['61', true],
      ['62', true],
      ['63', true],
      ['64', true],
      ['65', true],
    ]);
    const { store } = fake;
    store.update('60', { dealstage: 'closedwon' }, at(day));
    store.update('61', { amount: '250' }, at(day + 1000));
    store.update('62', { dealstage: 'closedlost' }, at(day + 2000));
    store.archive('63', at(day + 3000));
    store.merge('64', '65', at(day + 4000));

    const next = await pullAll(source, first.cursor);
    const byId = new Map(next.deals.map((d) => [d.dealId, d]));
    expect(byId.get('60')).toMatchObject({ won: true, wonAt: at(day), amount: '100' });
    expect(byId.get('61')).toMatchObject({ won: true, amount: '250', wonAt: at(1000) });
    expect(byId.get('62')).toMatchObject({ won: false, wonAt: null });
    expect(byId.get('63')).toMatchObject({ deleted: true, modifiedAt: at(day + 3000) });
    expect(byId.get('64')).toMatchObject({ mergedInto: '65', deleted: false });
    expect(byId.get('65')).toMatchObject({ won: true, mergedInto: null });

    // Nothing changed since: the deletion is not reported again, nothing else is read.
    const quiet = await pullAll(source, next.cursor);
    expect(quiet.deals.filter((d) => d.deleted)).toEqual([]);
    // A full sync reports every deleted deal.
    const full = await pullAll(source, null);
    expect(full.deals.find((d) => d.dealId === '63')?.deleted).toBe(true);
  });
});

describe('HubSpot: address policy (CLOSELOOP_ALLOW_PRIVATE_SOURCES unset)', () => {
  it('refuses a base URL on loopback, as an IP address or a name, before anything reaches it', async () => {
    fake = await startFakeHubspot(generated(3));
    const port = new URL(fake.url).port;
    const calls: string[] = [];
    for (const baseUrl of [fake.url, `http://localhost:${port}`]) {
      const source = fakeSource(fake, {
        settings: { baseUrl },
        guard: guardFor(defaultPolicy),
        events: { onApiCall: (what) => calls.push(what) },
      });
      for (const run of [() => pullAll(source, null), () => source.test()]) {
        const error = await run().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConnectorError);
        expect(error).toMatchObject({ code: 'private_address', retryable: false });
        expect((error as Error).message).toMatch(
          /(127\.0\.0\.1|localhost \((127\.0\.0\.1|::1)\)) is a loopback address.*CLOSELOOP_ALLOW_PRIVATE_SOURCES/,
        );
      }
    }
    expect(calls.length).toBeGreaterThan(0);
    expect(fake.requests).toEqual([]);
  });

  it("sends every request, the SDK's and its own, through the guard (a name only the guard resolves)", async () => {
    fake = await startFakeHubspot({
      deals: [fakeDeal({ id: '1', at: at(0), amount: '10', clickId: click(1), stage: 'closedwon' })],
    });
    const baseUrl = `http://hubspot.invalid:${new URL(fake.url).port}`;
    const source = fakeSource(fake, { settings: { baseUrl }, guard: onlyGuardResolves('hubspot.invalid') });
    expect((await source.test()).signedInAs).toMatch(/^HubSpot portal /);
    const { deals } = await pullAll(source, null);
    expect(deals.map((d) => d.dealId)).toEqual(['1']);
    expect(fake.requests).toEqual(
      expect.arrayContaining([
        'GET /account-info/v3/details',
        'POST /crm/v3/objects/deals/search',
        'GET /crm/v3/objects/deals',
      ]),
    );
  });
});
