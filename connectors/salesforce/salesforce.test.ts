import { Connection } from 'jsforce';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultPolicy, guardFor, onlyGuardResolves, openGuard } from '../../test/fakes/guard.ts';
import {
  type FakeSalesforce,
  type FakeSalesforceOptions,
  fakeClickId,
  startFakeSalesforce,
} from '../../test/fakes/salesforce-server.ts';
import {
  type ConnectionGuard,
  ConnectorError,
  type ConnectorEvents,
  type DealRecord,
  type DealSource,
} from '../deals.ts';
import { crmConnectors } from '../registry.ts';
import { createSalesforceSource, type SalesforceTuning, salesforceConnector } from './index.ts';
import type { SalesforceSecrets } from './settings.ts';

const fakes: FakeSalesforce[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function fake(options: FakeSalesforceOptions = {}): Promise<FakeSalesforce> {
  const f = await startFakeSalesforce(options);
  fakes.push(f);
  return f;
}

interface Recorded {
  calls: string[];
  usage: [number, number][];
  waits: [number, string][];
  tokens: { accessToken: string; refreshToken?: string; instanceUrl?: string }[];
}

function recorder(): { events: ConnectorEvents; seen: Recorded } {
  const seen: Recorded = { calls: [], usage: [], waits: [], tokens: [] };
  return {
    seen,
    events: {
      onApiCall: (what) => seen.calls.push(what),
      onUsage: (used, limit) => seen.usage.push([used, limit]),
      onWait: (ms, reason) => seen.waits.push([ms, reason]),
      onTokens: (tokens) => {
        seen.tokens.push(tokens);
      },
    },
  };
}

function source(
  f: FakeSalesforce,
  options: {
    events?: ConnectorEvents;
    tuning?: SalesforceTuning;
    currency?: string;
    secrets?: Partial<SalesforceSecrets>;
    guard?: ConnectionGuard;
  } = {},
): DealSource {
  return createSalesforceSource({
    settings: {
      loginUrl: f.loginUrl,
      clientId: f.clientId,
      clickIdField: 'MSCLKID__c',
      currency: options.currency ?? null,
    },
    secrets: { clientSecret: f.clientSecret, refreshToken: f.refreshToken(), ...options.secrets },
    ...(options.events ? { events: options.events } : {}),
    tuning: { limitBackoffMs: [1, 1, 1], ...options.tuning },
    guard: options.guard ?? openGuard,
  });
}

async function sync(s: DealSource, cursor: string | null = null, afterPage?: (page: number) => void) {
  const deals: DealRecord[] = [];
  let last = cursor;
  let pages = 0;
  for await (const page of s.pull(cursor)) {
    deals.push(...page.deals);
    last = page.cursor;
    pages++;
    afterPage?.(pages);
  }
  return { deals, cursor: last, pages };
}

const byId = (deals: DealRecord[], id: string) => deals.filter((d) => d.dealId === id);

describe('salesforce connector: paging, cursor, de-duplication', () => {
  it('reads more than 10,000 opportunities in pages of 2,000, in SystemModstamp order, none cut', async () => {
    const f = await fake({ opportunityCount: 12_345 });
    const { events, seen } = recorder();
    const { deals, pages } = await sync(source(f, { events }));
    expect(deals).toHaveLength(12_345);
    expect(pages).toBe(7);
    expect(new Set(deals.map((d) => d.dealId)).size).toBe(12_345);
    expect(deals.at(-1)?.dealId).toBe(f.opportunityId(12_344));
    const times = deals.map((d) => d.modifiedAt.getTime());
    expect(times.every((t, i) => i === 0 || t >= (times[i - 1] as number))).toBe(true);
    // Each next page is fetched at the nextRecordsUrl Salesforce gave (queryAll's own locator URL).
    expect(f.requests.filter((r) => r.startsWith('GET /services/data/v62.0/queryAll/'))).toHaveLength(
      pages - 1,
    );
    // One onApiCall per HTTP request, the fake counted the same requests.
    expect(seen.calls).toHaveLength(f.requests.length);
    // A handful of queries per page, not one per deal: sign-in, getUserInfo, Organization, stages,
    // then per page the opportunities, history, leads, contact roles and contact leads (4 chunks of 500 each).
    expect(f.requests.length).toBeLessThanOrEqual(4 + pages * (1 + 4 * 4));
  });

  it('gives generated deals their won time, close date at noon in the org zone, amount and click ID', async () => {
    const f = await fake({ opportunityCount: 8 });
    const { deals } = await sync(source(f));
    const won = deals[0] as DealRecord;
    expect(won).toMatchObject({
      dealId: f.opportunityId(0),
      name: 'Deal 0',
      won: true,
      amount: '1000',
      currency: 'USD',
      deleted: false,
      mergedInto: null,
      click: { clickId: fakeClickId(0), rule: 'Opportunity.MSCLKID__c', capturedAt: null },
    });
    // The fake writes the won history row one hour before SystemModstamp.
    expect(won.wonAt?.toISOString()).toBe('2025-12-31T23:00:00.000Z');
    // CloseDate 2026-01-01 at 12:00 in America/Los_Angeles (UTC-8 in January).
    expect(won.closeDateNoon?.toISOString()).toBe('2026-01-01T20:00:00.000Z');
    const open = deals[1] as DealRecord;
    expect(open).toMatchObject({ won: false, wonAt: null, click: null, amount: '1001' });
  });

  it('resumes from the cursor with an overlap window and catches a late-committed change', async () => {
    let clock = new Date('2026-02-01T00:00:00Z');
    const f = await fake({ opportunityCount: 1_000, now: () => clock });
    const s = source(f);
    const first = await sync(s);
    expect(first.deals).toHaveLength(1_000);
    const cursor = first.cursor as string;
    const highWater = new Date(JSON.parse(cursor).modstamp as string);

    // A transaction that started before the first sync ended commits after it: its SystemModstamp is
    // two minutes before the high-water mark, inside the 5-minute overlap.
    clock = new Date(highWater.getTime() - 120_000);
    f.addOpportunity({
      Id: '006LATE00000001AAA',
      IsWon: true,
      StageName: 'Closed Won',
      IsClosed: true,
      Amount: 70,
    });
    clock = new Date('2026-02-02T00:00:00Z');
    f.setAmount(f.opportunityId(3), 5000);

    const second = await sync(s, cursor);
    const ids = second.deals.map((d) => d.dealId);
    expect(ids).toContain('006LATE00000001AAA');
    expect(byId(second.deals, f.opportunityId(3))[0]?.amount).toBe('5000');
    // The overlap re-reads a little (the last 5 minutes: generated rows are 1 s apart), never everything.
    expect(second.deals.length).toBeLessThan(310);
    expect(new Date(JSON.parse(second.cursor as string).modstamp as string).toISOString()).toBe(
      '2026-02-02T00:00:00.000Z',
    );
  });

  it('sends each version of an opportunity once even when a page repeats rows', async () => {
    const f = await fake({ opportunityCount: 4_500, replayRowsOnNextPage: 25 });
    const { deals } = await sync(source(f));
    expect(deals).toHaveLength(4_500);
    expect(new Set(deals.map((d) => d.dealId)).size).toBe(4_500);
  });

  it('sends the newer version of an opportunity changed while the sync pages through', async () => {
    const f = await fake({ opportunityCount: 4_500 });
    const changed = f.opportunityId(10);
    const { deals } = await sync(source(f), null, (page) => {
      if (page === 1) f.setAmount(changed, 99);
    });
    const versions = byId(deals, changed);
    expect(versions.map((d) => d.amount)).toEqual(['1010', '99']);
  });

  it('refuses an unreadable cursor with a clear error', async () => {
    const f = await fake({ opportunityCount: 1 });
    const error = await sync(source(f), 'garbage').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as ConnectorError).code).toBe('bad_cursor');
  });
});

describe('salesforce connector: sign-in, tokens, limits', () => {
  it('signs in with the refresh token, takes the instance URL from the token response, and stores tokens at once', async () => {
    const f = await fake({ opportunityCount: 3 });
    const { events, seen } = recorder();
    await sync(source(f, { events }));
    expect(seen.tokens).toHaveLength(1);
    expect(seen.tokens[0]?.instanceUrl).toBe(f.instanceUrl);
    expect(f.loginUrl).not.toBe(f.instanceUrl);
    expect(f.requests.filter((r) => r === 'POST /services/oauth2/token')).toHaveLength(1);
  });

  it('refreshes an access token that expires mid-sync, retries, and hands over a rotated refresh token', async () => {
    const f = await fake({ opportunityCount: 6_500, rotateRefreshToken: true });
    const { events, seen } = recorder();
    const s = source(f, { events });
    const { deals } = await sync(s, null, (page) => {
      if (page === 1 || page === 2) f.expireAccessTokens();
    });
    expect(deals).toHaveLength(6_500);
    expect(seen.tokens).toHaveLength(3);
    const last = seen.tokens.at(-1);
    expect(last?.refreshToken).toBe(f.refreshToken());
    expect(last?.instanceUrl).toBe(f.instanceUrl);
    // Only the rotated refresh token works now: the connection used it for the third refresh.
    expect(new Set(seen.tokens.map((t) => t.refreshToken)).size).toBe(3);
  });

  it('reuses a stored access token without signing in again', async () => {
    const f = await fake({ opportunityCount: 3 });
    const { events, seen } = recorder();
    await sync(source(f, { events }));
    const stored = seen.tokens[0];
    const again = recorder();
    await sync(
      source(f, {
        events: again.events,
        secrets: { accessToken: stored?.accessToken, instanceUrl: stored?.instanceUrl },
      }),
    );
    expect(again.seen.tokens).toHaveLength(0);
    expect(again.seen.calls).not.toContain('POST /services/oauth2/token');
  });

  it('refreshes a stored access token that has expired, on the SOAP call too', async () => {
    const f = await fake({ opportunityCount: 3 });
    const { events, seen } = recorder();
    await sync(source(f, { events }));
    const stored = seen.tokens[0];
    f.expireAccessTokens();
    const again = recorder();
    const { deals } = await sync(
      source(f, {
        events: again.events,
        secrets: { accessToken: stored?.accessToken, instanceUrl: stored?.instanceUrl },
      }),
    );
    expect(deals).toHaveLength(3);
    expect(again.seen.tokens).toHaveLength(1);
    expect(again.seen.calls.slice(0, 3)).toEqual([
      'POST /services/Soap/u/62.0',
      'POST /services/oauth2/token',
      'POST /services/Soap/u/62.0',
    ]);
  });

  it('says unreachable (retryable) when the login URL does not answer', async () => {
    const f = await fake({ opportunityCount: 1 });
    const loginUrl = f.loginUrl;
    await f.close();
    fakes.splice(fakes.indexOf(f), 1);
    const s = createSalesforceSource({
      settings: { loginUrl, clientId: 'x', clickIdField: 'MSCLKID__c', currency: null },
      secrets: { clientSecret: 'y', refreshToken: 'z' },
      guard: openGuard,
    });
    const error = await sync(s).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'unreachable',
      retryable: true,
      request: 'POST /services/oauth2/token',
    });
  });

  it('says auth_failed when the refresh token is refused', async () => {
    const f = await fake({ opportunityCount: 1 });
    const error = await sync(source(f, { secrets: { refreshToken: 'revoked' } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as ConnectorError).code).toBe('auth_failed');
    expect((error as ConnectorError).retryable).toBe(false);
  });

  it('backs off on REQUEST_LIMIT_EXCEEDED and goes on', async () => {
    const f = await fake({ opportunityCount: 2_500 });
    const { events, seen } = recorder();
    const s = source(f, { events });
    const { deals } = await sync(s, null, (page) => {
      if (page === 1) f.exceedRequestLimit(2);
    });
    expect(deals).toHaveLength(2_500);
    expect(seen.waits).toEqual([
      [1, 'Salesforce REQUEST_LIMIT_EXCEEDED'],
      [1, 'Salesforce REQUEST_LIMIT_EXCEEDED'],
    ]);
  });

  it('gives up after a few retries with a retryable rate_limited error naming the request', async () => {
    const f = await fake({ opportunityCount: 10 });
    const s = source(f);
    await sync(s); // signs in
    f.exceedRequestLimit(10);
    const error = await sync(s).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'rate_limited', retryable: true });
    expect((error as ConnectorError).request).toMatch(/^POST \/services\/Soap\/u\/62\.0/);
  });

  it('reports API usage from Sforce-Limit-Info', async () => {
    const f = await fake({ opportunityCount: 3, apiLimit: 15_000 });
    const { events, seen } = recorder();
    await sync(source(f, { events }));
    expect(seen.usage.at(-1)).toEqual([f.apiUsage(), 15_000]);
  });

  it('says how to create the click-ID field when it is missing', async () => {
    const f = await fake({ opportunityCount: 4, missingClickIdFieldOn: ['Lead'] });
    const error = await sync(source(f)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'click_id_field_missing', retryable: false });
    expect((error as Error).message).toContain('MSCLKID__c on Lead');
    expect((error as Error).message).toContain('Object Manager');
  });
});

describe('salesforce connector: address policy (CLOSELOOP_ALLOW_PRIVATE_SOURCES unset)', () => {
  it('refuses a login URL on loopback before anything reaches it, not retryable', async () => {
    const f = await fake({ opportunityCount: 1 });
    const { events, seen } = recorder();
    const error = await sync(source(f, { events, guard: guardFor(defaultPolicy) })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'private_address', retryable: false });
    // localhost is a name: refused by the lookup, with the address it resolved to.
    expect((error as Error).message).toMatch(/localhost \((127\.0\.0\.1|::1)\) is a loopback address/);
    expect((error as Error).message).toContain('CLOSELOOP_ALLOW_PRIVATE_SOURCES');
    expect(f.requests).toEqual([]);
    expect(seen.tokens).toEqual([]);
  });

  it('sends every request through the guard: a login URL only the guard resolves works', async () => {
    const f = await fake({ opportunityCount: 3 });
    const loginUrl = `http://salesforce.invalid:${new URL(f.loginUrl).port}`;
    const s = createSalesforceSource({
      settings: { loginUrl, clientId: f.clientId, clickIdField: 'MSCLKID__c', currency: null },
      secrets: { clientSecret: f.clientSecret, refreshToken: f.refreshToken() },
      guard: onlyGuardResolves('salesforce.invalid'),
    });
    expect((await sync(s)).deals).toHaveLength(3);
    expect(f.requests[0]).toBe('POST /services/oauth2/token');
  });

  it('fails closed: a jsforce request outside a connector connection reaches nothing', async () => {
    const f = await fake({ opportunityCount: 1 });
    source(f); // a connector's connection puts the routing dispatcher in place
    const bare = new Connection({ instanceUrl: f.instanceUrl, accessToken: 'stolen', version: '62.0' });
    await expect(bare.request('/limits')).rejects.toThrow();
    expect(f.requests).toEqual([]);
  });

  it('refuses a stored instance URL on loopback (an IP address: no lookup) before anything reaches it', async () => {
    const f = await fake({ opportunityCount: 1 });
    const s = source(f, {
      guard: guardFor(defaultPolicy),
      secrets: { accessToken: 'stored', instanceUrl: f.instanceUrl },
    });
    const error = await sync(s).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'private_address', retryable: false });
    expect((error as Error).message).toMatch(/127\.0\.0\.1 is a loopback address/);
    expect(f.requests).toEqual([]);
  });

  it('refuses an instance URL on the metadata service from the token answer, and stores no token', async () => {
    const f = await fake({ opportunityCount: 1, tokenInstanceUrl: 'http://169.254.169.254' });
    const { events, seen } = recorder();
    // The login URL is allowed (loopback is on the list here); the instance URL it names is not.
    const guard = guardFor({ allowPrivate: ['127.0.0.0/8', '::1'] });
    const error = await sync(source(f, { events, guard })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'private_address', retryable: false });
    expect((error as Error).message).toContain('instance URL http://169.254.169.254');
    expect((error as Error).message).toMatch(
      /169\.254\.169\.254 is a link-local address.*CLOSELOOP_ALLOW_PRIVATE_SOURCES/,
    );
    expect(f.requests).toEqual(['POST /services/oauth2/token']);
    expect(seen.tokens).toEqual([]);
  });
});

describe('salesforce connector: deletes, currency, won time', () => {
  it('sees deleted opportunities through queryAll', async () => {
    const f = await fake({ opportunityCount: 20 });
    const s = source(f);
    const first = await sync(s);
    f.deleteOpportunity(f.opportunityId(4));
    const second = await sync(s, first.cursor);
    expect(byId(second.deals, f.opportunityId(4))).toEqual([
      expect.objectContaining({ deleted: true, won: false }),
    ]);
  });

  it('sends each opportunity in its own currency in a multi-currency org', async () => {
    const f = await fake({ opportunityCount: 3, multiCurrency: true });
    f.setCurrency(f.opportunityId(2), 'EUR');
    const { deals } = await sync(source(f, { currency: 'CHF' }));
    expect(byId(deals, f.opportunityId(0))[0]?.currency).toBe('USD');
    expect(byId(deals, f.opportunityId(2))[0]?.currency).toBe('EUR');
  });

  it('uses the org default currency in a single-currency org, else the configured one', async () => {
    const gbp = await fake({ opportunityCount: 1, defaultCurrency: 'GBP' });
    expect((await sync(source(gbp, { currency: 'CHF' }))).deals[0]?.currency).toBe('GBP');
    const none = await fake({ opportunityCount: 1, defaultCurrency: null });
    expect((await sync(source(none, { currency: 'CHF' }))).deals[0]?.currency).toBe('CHF');
  });

  it('takes the won time from the start of the latest run of won stages in OpportunityHistory', async () => {
    let clock = new Date('2026-03-01T10:00:00Z');
    const f = await fake({ now: () => clock });
    const id = '006HIST00000001AAA';
    f.addOpportunity({ Id: id, Amount: 100 });
    clock = new Date('2026-03-02T10:00:00Z');
    f.win(id);
    clock = new Date('2026-03-03T10:00:00Z');
    f.setAmount(id, 150); // a history row with the same won stage: not a new won run
    let { deals } = await sync(source(f));
    expect(deals[0]?.wonAt?.toISOString()).toBe('2026-03-02T10:00:00.000Z');

    clock = new Date('2026-03-04T10:00:00Z');
    f.lose(id);
    clock = new Date('2026-03-05T10:00:00Z');
    f.win(id, 'Signed'); // another won stage (OpportunityStage.IsWon)
    clock = new Date('2026-03-06T10:00:00Z');
    f.win(id, 'Closed Won'); // won → won: still the same run
    ({ deals } = await sync(source(f)));
    expect(deals[0]).toMatchObject({ won: true, amount: '150' });
    expect(deals[0]?.wonAt?.toISOString()).toBe('2026-03-05T10:00:00.000Z');
  });
});

describe('salesforce connector: click ID lookup (rule A)', () => {
  const field = 'MSCLKID__c';
  const click = (n: number) => fakeClickId(1000 + n);

  async function wonDeals() {
    const f = await fake();
    const ids = [
      '006A00000000001AAA',
      '006A00000000002AAA',
      '006A00000000003AAA',
      '006A00000000004AAA',
      '006A00000000005AAA',
      '006A00000000006AAA',
    ];
    for (const Id of ids)
      f.addOpportunity({ Id, StageName: 'Closed Won', IsWon: true, IsClosed: true, Amount: 10 });
    return { f, ids };
  }

  it('reads the opportunity first, dating it by the converted lead', async () => {
    const { f, ids } = await wonDeals();
    f.setOpportunityClickId(ids[0] as string, click(1));
    f.addLead({
      Id: '00Q1',
      ConvertedOpportunityId: ids[0] as string,
      clickId: click(1),
      CreatedDate: '2026-01-05T08:00:00.000+0000',
    });
    const { deals } = await sync(source(f));
    expect(byId(deals, ids[0] as string)[0]?.click).toEqual({
      clickId: click(1),
      rule: `Opportunity.${field}`,
      capturedAt: new Date('2026-01-05T08:00:00Z'),
    });
  });

  it('falls back to the lead converted into the opportunity (newest lead with a click ID)', async () => {
    const { f, ids } = await wonDeals();
    f.addLead({
      Id: '00Q1',
      ConvertedOpportunityId: ids[1] as string,
      clickId: click(1),
      CreatedDate: '2026-01-01T00:00:00.000+0000',
    });
    f.addLead({
      Id: '00Q2',
      ConvertedOpportunityId: ids[1] as string,
      clickId: click(2),
      CreatedDate: '2026-01-09T00:00:00.000+0000',
    });
    f.addLead({
      Id: '00Q3',
      ConvertedOpportunityId: ids[1] as string,
      clickId: null,
      CreatedDate: '2026-01-10T00:00:00.000+0000',
    });
    const { deals } = await sync(source(f));
    expect(byId(deals, ids[1] as string)[0]?.click).toEqual({
      clickId: click(2),
      rule: `Lead(ConvertedOpportunityId).${field}`,
      capturedAt: new Date('2026-01-09T00:00:00Z'),
    });
  });

  it('then the contact roles: primary first, then the oldest; contact field, else its converted lead', async () => {
    const { f, ids } = await wonDeals();
    const [, , primaryOpp, oldestOpp, leadOpp, noneOpp] = ids as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    f.addContact({ Id: '003P', clickId: click(3), CreatedDate: '2026-01-03T00:00:00.000+0000' });
    f.addContact({ Id: '003O', clickId: click(4), CreatedDate: '2026-01-04T00:00:00.000+0000' });
    f.addContact({ Id: '003Y', clickId: click(5), CreatedDate: '2026-01-05T00:00:00.000+0000' });
    f.addContact({ Id: '003B', clickId: null, CreatedDate: '2026-01-06T00:00:00.000+0000' });
    // primaryOpp: an older non-primary role with a click ID loses to the primary one.
    f.addContactRole({
      OpportunityId: primaryOpp,
      ContactId: '003O',
      IsPrimary: false,
      CreatedDate: '2026-01-01T00:00:00.000+0000',
    });
    f.addContactRole({
      OpportunityId: primaryOpp,
      ContactId: '003P',
      IsPrimary: true,
      CreatedDate: '2026-01-08T00:00:00.000+0000',
    });
    // oldestOpp: no primary; the oldest role wins over the younger one.
    f.addContactRole({
      OpportunityId: oldestOpp,
      ContactId: '003Y',
      IsPrimary: false,
      CreatedDate: '2026-01-09T00:00:00.000+0000',
    });
    f.addContactRole({
      OpportunityId: oldestOpp,
      ContactId: '003O',
      IsPrimary: false,
      CreatedDate: '2026-01-02T00:00:00.000+0000',
    });
    // leadOpp: the primary contact has no click ID, the lead converted into that contact has one.
    f.addContactRole({
      OpportunityId: leadOpp,
      ContactId: '003B',
      IsPrimary: true,
      CreatedDate: '2026-01-02T00:00:00.000+0000',
    });
    f.addLead({
      Id: '00QB',
      ConvertedContactId: '003B',
      clickId: click(6),
      CreatedDate: '2025-12-30T00:00:00.000+0000',
    });
    // noneOpp: a contact without click ID and no lead.
    f.addContactRole({
      OpportunityId: noneOpp,
      ContactId: '003B',
      IsPrimary: false,
      CreatedDate: '2026-01-02T00:00:00.000+0000',
    });
    f.addContact({ Id: '003N', clickId: null, CreatedDate: '2026-01-06T00:00:00.000+0000' });

    const { deals } = await sync(source(f));
    expect(byId(deals, primaryOpp)[0]?.click).toEqual({
      clickId: click(3),
      rule: `OpportunityContactRole(primary).Contact.${field}`,
      capturedAt: new Date('2026-01-03T00:00:00Z'),
    });
    expect(byId(deals, oldestOpp)[0]?.click).toEqual({
      clickId: click(4),
      rule: `OpportunityContactRole(contact 003O).Contact.${field}`,
      capturedAt: new Date('2026-01-04T00:00:00Z'),
    });
    expect(byId(deals, leadOpp)[0]?.click).toEqual({
      clickId: click(6),
      rule: `OpportunityContactRole(primary).Lead(ConvertedContactId).${field}`,
      capturedAt: new Date('2025-12-30T00:00:00Z'),
    });
    // noneOpp's contact 003B has a converted lead with a click ID too: found through it.
    expect(byId(deals, noneOpp)[0]?.click?.rule).toBe(
      `OpportunityContactRole(contact 003B).Lead(ConvertedContactId).${field}`,
    );
  });

  it('leaves the click ID empty when no rule finds one', async () => {
    const { f, ids } = await wonDeals();
    f.addContact({ Id: '003N', clickId: '   ', CreatedDate: '2026-01-06T00:00:00.000+0000' });
    f.addContactRole({
      OpportunityId: ids[5] as string,
      ContactId: '003N',
      IsPrimary: true,
      CreatedDate: '2026-01-02T00:00:00.000+0000',
    });
    const { deals } = await sync(source(f));
    expect(deals).toHaveLength(6);
    expect(deals.every((d) => d.click === null)).toBe(true);
  });
});

describe('salesforce connector: test() and the registry', () => {
  it('signs in, names who we are, reads one page and notes the org facts', async () => {
    const f = await fake({ opportunityCount: 2_100, multiCurrency: true });
    const result = await source(f).test();
    expect(result.signedInAs).toBe(`${new URL(f.instanceUrl).host} as ops@example.com.fake (Fake Org)`);
    expect(result.dealsRead).toBe(2_000);
    expect(result.notes.join('\n')).toMatch(/multi-currency org/);
    expect(result.notes.join('\n')).toMatch(/API usage \d+\/15000/);
  });

  it('notes a missing click-ID field instead of reading deals', async () => {
    const f = await fake({ opportunityCount: 10, missingClickIdFieldOn: ['Contact', 'Opportunity'] });
    const result = await source(f).test();
    expect(result.dealsRead).toBe(0);
    expect(result.notes[0]).toMatch(/^click-ID field MSCLKID__c missing on Opportunity, Contact /);
  });

  it('is registered as the salesforce kind', async () => {
    const load = crmConnectors.salesforce;
    expect(load).toBeDefined();
    expect(await load?.()).toBe(salesforceConnector);
    expect(salesforceConnector.kind).toBe('salesforce');
  });
});
