/**
 * CRM sync benchmark: 100,000 deals, a first sync (backfill), then an incremental sync in which 1% of
 * the deals changed (amounts: Restates). Prints API calls, wall time, rows/s and peak RSS for each, and
 * a pass line with the targets: API calls = the pages the data needs + a constant (the sync itself adds
 * none), memory that does not grow with the number of deals (one page in memory), and every won deal
 * in the ledger exactly once.
 *
 * Memory, two criteria. (1) What stays: the JS heap in use after a forced garbage collection, measured
 * once the database is open and the first page of the first sync has been processed (staged, checked,
 * committed), and again after the last page of each sync, may grow by at most BENCH_HEAP_GROWTH_MB
 * (default 20). RSS is no measure of that: V8 lets its heap grow by 100 MB or more between collections
 * and keeps the pages it got, and a single reading depends on when the collector last ran. Without a
 * leak the heap ends within a few MB of where it was after the first page; keeping every page of
 * 100,000 generated deals in an array (tried in connector-sync.ts) ends 46 MB above it and FAILs.
 * (2) The peak RSS, sampled every 50 ms: on PostgreSQL at most BENCH_RSS_MB (default 400), as before.
 * PGlite's WebAssembly heap is most of its RSS (about 500 MB once open, whatever the number of deals)
 * and its buffer cache, in this process, fills as the data grows up to shared_buffers (128 MB): there
 * the bound is the RSS after the first page + shared_buffers + BENCH_RSS_GROWTH_MB (default 150), and
 * the fixed 400 MB is printed but not applied. The embedded database runs in a data folder (as
 * `closeloop serve` does), so the rows it writes are on disk rather than in the process's memory.
 *
 *   npm run bench:crm                                   # 100,000 deals, pages of 2,000, on PostgreSQL
 *   BENCH_DEALS=20000 npm run bench:crm                 # small
 *   BENCH_DB=pglite npm run bench:crm                   # the embedded database
 *
 *   BENCH_CRM=salesforce npm run bench:crm              # the whole path: the fake Salesforce server
 *                                                       # through jsforce and the real connector
 *   BENCH_CRM=hubspot npm run bench:crm                 # the whole path: the fake HubSpot server
 *                                                       # through @hubspot/api-client and the real connector
 *
 * By default the CRM is generated deal by deal behind our own DealSource interface (nothing is held but
 * the page under way), so the figures are closeloop's side of a sync: the rules, staging, checks, ledger
 * and per-deal state. With BENCH_CRM=salesforce the deals come from the fake Salesforce of
 * test/fakes/salesforce-server.ts (in this process, generating opportunities from their index: won when
 * even, a click ID when i % 4 = 0) through jsforce and connectors/salesforce, and API calls are the HTTP
 * requests the connector made (its own target, per page of 2,000: 1 + 4 lookups per 500 won deals, plus
 * 4 per sync, is checked by npm run bench:salesforce).
 *
 * With BENCH_CRM=hubspot the deals come from the fake HubSpot of test/fakes/hubspot-server.ts (in this
 * process, deals and contacts generated from their index, modified one second apart: 80% won (i % 5 ≠ 0);
 * the click ID on the deal, except i % 10 = 1 (none anywhere) and i % 10 = 3 (on the deal's one contact,
 * set before the won time)) through @hubspot/api-client and connectors/hubspot with its production page
 * size (100) and 5-minute overlap, but a fast limiter (the default, 4 requests per 1.1 s per portal,
 * would make the bench measure HubSpot's rate; what the same requests take at that rate is printed).
 * API calls are the HTTP requests the fake answered, and their target follows from how the connector
 * reads (connectors/hubspot/source.ts, reads.ts): per search page of 100 deals, 1 search, 1 batch read
 * of dealstage and click-ID histories per 50 won deals, 1 association read if a won deal has no click ID
 * of its own, 1 contact read per 50 of their contacts; per 10,000 deals, 1 query by modified time at the
 * window's end (search answers at most 10,000 results per query, so each window ends there and
 * the deals of its last modified time are read by id before the next); per sync 2: the account details
 * and the list of archived deals (none here). The bench computes that target from the deals each sync
 * must read (on the incremental one, those modified in the overlap and the changed ones) and requires
 * the requests to stay within it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sql } from 'drizzle-orm';
import type { DealPage, DealRecord, DealSource } from '../../connectors/deals.ts';
import { createHubspotConnector } from '../../connectors/hubspot/index.ts';
import type { HubspotSecrets, HubspotSettings } from '../../connectors/hubspot/settings.ts';
import { createSalesforceSource } from '../../connectors/salesforce/index.ts';
import { openDatabase } from '../../src/db/client.ts';
import { createSecrets } from '../../src/secrets.ts';
import { syncConnector } from '../../src/services/connector-sync.ts';
import { addConnector } from '../../src/services/connectors.ts';
import { allowLoopback } from '../fakes/guard.ts';
import { fakeContact, fakeDeal, startFakeHubspot } from '../fakes/hubspot-server.ts';
import type { FakeContact, FakeDeal } from '../fakes/hubspot-store.ts';
import { startFakeSalesforce } from '../fakes/salesforce-server.ts';
import { createPostgresDatabaseUrl } from '../helpers/db.ts';
import { addGoal } from '../helpers/submit.ts';

const deals = Number(process.env.BENCH_DEALS ?? 100_000);
const pageSize = Number(process.env.BENCH_PAGE ?? 2000);
const changedShare = 0.01;
/** The changed deals are i ≡ 2 (mod 100): won and with a click ID, so each makes one Restate. */
const changedOffset = 2;
/** Peak RSS bound on PostgreSQL: a page of deals and its staging, whatever the number of deals. */
const rssLimitMb = Number(process.env.BENCH_RSS_MB ?? 400);
/** On PGlite: peak RSS above the RSS after the first page, beyond PGlite's shared_buffers. */
const rssGrowthMb = Number(process.env.BENCH_RSS_GROWTH_MB ?? 150);
/** The JS heap in use after the last page above that after the first (both after a collection). */
const heapGrowthMb = Number(process.env.BENCH_HEAP_GROWTH_MB ?? 20);
const kind = process.env.BENCH_DB === 'pglite' ? 'pglite' : 'postgres';
const crm =
  process.env.BENCH_CRM === 'salesforce'
    ? 'salesforce'
    : process.env.BENCH_CRM === 'hubspot'
      ? 'hubspot'
      : 'generated';

const day = 86_400_000;
const start = Date.now() - 3_600_000;
const hex = (i: number, salt: number) => (i * 2654435761 + salt).toString(16).padStart(32, '0').slice(-32);

/** Deal i as the CRM has it; `changed` deals have another amount (a Restate). */
function dealAt(i: number, changed: boolean): DealRecord {
  const won = i % 5 !== 0; // 80% won, the rest open
  return {
    dealId: `006${String(i).padStart(15, '0')}`,
    name: `Deal ${i}`,
    won,
    wonAt: won ? new Date(start - 30 * day + (i % 86_400) * 1000) : null,
    closeDateNoon: null,
    amount: String(100 + (i % 900) + (changed ? 50 : 0)),
    currency: i % 3 === 0 ? 'EUR' : 'USD',
    click: i % 10 === 1 ? null : { clickId: hex(i, 7), rule: 'Opportunity.MSCLKID__c', capturedAt: null },
    deleted: false,
    mergedInto: null,
    modifiedAt: new Date(start - day + i),
  };
}

let pagesServed = 0;
function generatedCrm(): DealSource {
  return {
    async test() {
      return { signedInAs: 'generated CRM', dealsRead: Math.min(pageSize, deals), notes: [] };
    },
    async *pull(cursor): AsyncIterable<DealPage> {
      // First pass: every deal; after it (cursor = deals): the 1% that changed.
      const incremental = cursor !== null && Number(cursor) >= deals;
      const ids = incremental
        ? function* () {
            for (let i = changedOffset; i < deals; i += Math.round(1 / changedShare)) yield i;
          }
        : function* () {
            for (let i = 0; i < deals; i++) yield i;
          };
      let page: DealRecord[] = [];
      for (const i of ids()) {
        page.push(dealAt(i, incremental));
        if (page.length === pageSize) {
          pagesServed++;
          yield { deals: page, cursor: String(deals + (incremental ? i + 1 : 0)) };
          page = [];
        }
      }
      if (page.length > 0) {
        pagesServed++;
        yield { deals: page, cursor: String(deals + (incremental ? deals : 0)) };
      }
    },
  };
}

// The fake HubSpot's deals: deal i (id 1001 + i) modified at hubspotBase + i seconds, its contact
// (i % 10 = 3) id hubspotContactBase + i.
const hubspotBase = Date.now() - 10 * day;
const hubspotContactBase = 50_000_000;
const hubspotModified = (i: number) => hubspotBase + i * 1000;
const hubspotWon = (i: number) => i % 5 !== 0;
const hubspotClickOnDeal = (i: number) => i % 10 !== 1 && i % 10 !== 3;
const hubspotContactOf = (i: number) => (i % 10 === 3 ? [String(hubspotContactBase + i)] : []);

function hubspotDeal(i: number, id: string): Omit<FakeDeal, 'id'> {
  const clickId = hubspotClickOnDeal(i) ? hex(i, 7) : undefined;
  const { id: _id, ...deal } = fakeDeal({
    id,
    stage: hubspotWon(i) ? 'closedwon' : 'appointmentscheduled',
    at: new Date(hubspotModified(i)),
    amount: String(100 + (i % 900)),
    ...(i % 3 === 0 ? { currency: 'EUR' } : {}),
    ...(clickId ? { clickId } : {}),
    contacts: hubspotContactOf(i).map((contactId) => ({ id: contactId })),
  });
  return deal;
}

function hubspotContact(id: string): FakeContact | null {
  const i = Number(id) - hubspotContactBase;
  if (!Number.isInteger(i) || i < 0 || i >= deals || hubspotContactOf(i).length === 0) return null;
  return fakeContact(id, [{ value: hex(i, 11), at: new Date(hubspotModified(i) - 2 * day) }]);
}

/**
 * The requests a sync of the fake HubSpot needs when it reads the deals `indices` in this order
 * (the connector's reads; see the header).
 */
function hubspotTarget(indices: number[]) {
  const t = { searches: 0, histories: 0, associations: 0, contacts: 0, windowEnds: 0, perSync: 2 };
  const page = 100;
  for (let p = 0; p < indices.length; p += page) {
    const chunk = indices.slice(p, p + page);
    const won = chunk.filter(hubspotWon);
    const needContacts = won.filter((i) => !hubspotClickOnDeal(i));
    t.searches += 1;
    t.histories += Math.ceil(won.length / 50);
    t.associations += needContacts.length > 0 ? 1 : 0;
    t.contacts += Math.ceil(needContacts.flatMap(hubspotContactOf).length / 50);
  }
  // Every modified time is distinct: a window ends (and its last time is read by id) per 10,000.
  t.windowEnds = Math.max(0, Math.ceil(indices.length / 10_000) - 1);
  return { ...t, total: t.searches + t.histories + t.associations + t.contacts + t.windowEnds + t.perSync };
}

// The garbage collector, to measure what stays in memory (without it, RSS depends on when it last ran).
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
/** RSS and the JS heap in use, after a garbage collection. */
async function retained(): Promise<{ rss: number; heap: number }> {
  collectGarbage();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heap: heapUsed };
}

let peakRss = 0;
/** The peak RSS of the whole run. */
let peakOfAll = 0;
const sampler = setInterval(() => {
  const rss = process.memoryUsage().rss;
  peakRss = Math.max(peakRss, rss);
  peakOfAll = Math.max(peakOfAll, rss);
}, 50);
/** After a garbage collection once the database is open and the first page has been processed. */
let baseline: { rss: number; heap: number } | null = null;
/** The JS heap in use after a garbage collection after the last page of each sync (the larger). */
let endHeap = 0;

/**
 * The source as the sync sees it, measuring memory when the sync asks for the second page of the first
 * sync (the first one is then staged, checked and committed) and when it has processed the last page.
 */
function measured(source: DealSource): DealSource {
  return {
    test: (signal) => source.test(signal),
    async *pull(cursor, signal) {
      let n = 0;
      for await (const page of source.pull(cursor, signal)) {
        yield page;
        n += 1;
        if (n === 1 && baseline === null) baseline = await retained();
      }
      endHeap = Math.max(endHeap, (await retained()).heap);
    },
  };
}

// The fake Salesforce: opportunities modified over the last 10 days (within Microsoft's 90), its clock
// moving one second per change so that the incremental sync sees the changed ones after its cursor.
let fakeClock = new Date();
const fake =
  crm === 'salesforce'
    ? await startFakeSalesforce({
        opportunityCount: deals,
        base: new Date(Date.now() - 10 * day),
        now: () => fakeClock,
      })
    : undefined;
const hubspot =
  crm === 'hubspot'
    ? await startFakeHubspot({ dealCount: deals, generate: hubspotDeal, generateContact: hubspotContact })
    : undefined;
// Production's page size and overlap; a limiter that does not wait (the rate is printed instead).
const hubspotConnector = createHubspotConnector({ requestsPerSecond: 10_000, backoffMs: 5 });
let apiCalls = 0;
const sources: Parameters<typeof syncConnector>[0]['sources'] = fake
  ? async ({ events, guard }) =>
      measured(
        createSalesforceSource({
          guard,
          settings: {
            loginUrl: fake.loginUrl,
            clientId: fake.clientId,
            clickIdField: 'MSCLKID__c',
            currency: null,
          },
          secrets: { clientSecret: fake.clientSecret, refreshToken: fake.refreshToken() },
          events: {
            ...events,
            onApiCall: (what) => {
              apiCalls++;
              events.onApiCall?.(what);
            },
          },
        }),
      )
  : hubspot
    ? async ({ settings, secrets, events, guard }) =>
        measured(
          hubspotConnector.create({
            settings: settings as unknown as HubspotSettings,
            secrets: secrets as unknown as HubspotSecrets,
            events,
            guard,
          }),
        )
    : async () => measured(generatedCrm());

const created = kind === 'postgres' ? await createPostgresDatabaseUrl() : undefined;
const dataDir = kind === 'pglite' ? await mkdtemp(join(tmpdir(), 'closeloop-bench-crm-')) : undefined;
const database = await openDatabase(
  created ? { kind: 'postgres', url: created.url, max: 4 } : { kind: 'pglite', dataDir },
);
const ctx = { database, customerId: 'default', now: () => new Date() };
const secrets = createSecrets(randomBytes(32));
await addGoal(database, { name: 'Won deal' });
await addConnector({
  ctx,
  secrets,
  policy: allowLoopback,
  input: fake
    ? {
        kind: 'salesforce',
        name: 'bench',
        goal: 'Won deal',
        settings: { loginUrl: fake.loginUrl, clientId: fake.clientId },
        secrets: { clientSecret: fake.clientSecret, refreshToken: fake.refreshToken() },
      }
    : hubspot
      ? {
          kind: 'hubspot',
          name: 'bench',
          goal: 'Won deal',
          settings: { baseUrl: hubspot.url },
          secrets: { token: hubspot.token },
        }
      : { kind: 'hubspot', name: 'bench', goal: 'Won deal', secrets: { token: 't' } },
});

const changed = Array.from({ length: Math.ceil(deals / 100) }, (_, k) => k * 100 + changedOffset).filter(
  (i) => i < deals,
);
/** What missed its target, printed under the FAIL line. */
const failures: string[] = [];
let hubspotRequests = 0;
for (const label of ['first sync', 'incremental (1% changed)'] as const) {
  const incremental = label !== 'first sync';
  if (fake && incremental)
    for (let i = 0; i < deals; i += Math.round(1 / changedShare)) {
      fakeClock = new Date(fakeClock.getTime() + 1000);
      fake.setAmount(fake.opportunityId(i), 7 + i);
    }
  // The changed HubSpot deals: modified in the last minute, one millisecond apart, in index order.
  const changedAt = Date.now() - 60_000;
  if (hubspot && incremental)
    changed.forEach((i, k) => {
      hubspot.store.update(
        String(hubspot.store.firstDealId + i),
        { amount: String(7 + i) },
        new Date(changedAt + k),
      );
    });
  if (hubspot) hubspot.requests.length = 0;
  pagesServed = 0;
  apiCalls = 0;
  peakRss = process.memoryUsage().rss;
  const t0 = performance.now();
  const report = await syncConnector({ ctx, secrets, policy: allowLoopback, id: 'bench', sources });
  const seconds = (performance.now() - t0) / 1000;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  peakOfAll = Math.max(peakOfAll, peakRss);
  const c = report.counts;
  const neededPages = Math.ceil(c.dealsRead / pageSize);
  let calls: string;
  if (hubspot) {
    // The incremental sync reads the deals of the 5-minute overlap before the cursor, then the changed ones.
    const last = hubspotModified(deals - 1);
    const indices = incremental
      ? [
          ...Array.from({ length: deals }, (_, i) => i).filter(
            (i) => hubspotModified(i) >= last - 300_000 && !changed.includes(i),
          ),
          ...changed,
        ]
      : Array.from({ length: deals }, (_, i) => i);
    const target = hubspotTarget(indices);
    const made = hubspot.requests.length;
    hubspotRequests += made;
    const byKind = new Map<string, number>();
    for (const r of hubspot.requests) {
      const key = r.replace(/\/\d+\//, '/{id}/');
      byKind.set(key, (byKind.get(key) ?? 0) + 1);
    }
    calls = `${made} HTTP requests to the fake HubSpot, target ${target.total} = ${target.searches} searches + ${target.histories} history reads + ${target.associations} association reads + ${target.contacts} contact reads + ${target.windowEnds} window ends + ${target.perSync} per sync; at HubSpot's 4 per 1.1 s: ${Math.round((made * 1.1) / 4)} s`;
    console.log(`  ${label} requests: ${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    if (made > target.total) failures.push(`${label}: ${made} HTTP requests, target ${target.total}`);
  } else if (fake) {
    calls = `${apiCalls} HTTP requests to the fake Salesforce`;
  } else {
    calls = `${pagesServed} API calls, needed ${neededPages}`;
    if (pagesServed > neededPages + 1)
      failures.push(`${label}: ${pagesServed} API calls, ${neededPages} pages needed`);
  }
  console.log(
    `${label}: ${c.dealsRead} deals in ${c.pages} pages (${calls}), ${c.conversions} conversions, ${c.restates} restates, ${c.unchanged} unchanged, skipped ${JSON.stringify(c.skipped)}; ${seconds.toFixed(1)} s, ${Math.round(c.dealsRead / seconds)} deals/s, peak RSS ${Math.round(peakRss / 1048576)} MB`,
  );
  if (report.status !== 'succeeded') {
    console.log(`  failed: ${report.error}`);
    failures.push(`${label}: the sync ${report.status}: ${report.error}`);
  }
}

const mb = (bytes: number) => Math.round(bytes / 1048576);
// PGlite's buffer cache is in this process: it fills as the data grows, up to shared_buffers.
const [buffers] = await database.query<{ mb: number }>(
  sql`select (setting::bigint * 8192 / 1048576)::int as mb from pg_settings where name = 'shared_buffers'`,
);
const base = baseline ?? { rss: Number.POSITIVE_INFINITY, heap: Number.POSITIVE_INFINITY };
const heapGrowth = mb(endHeap - base.heap);
const peakBound = kind === 'postgres' ? rssLimitMb : mb(base.rss) + buffers!.mb + rssGrowthMb;
console.log(
  `memory: JS heap in use after the first page ${mb(base.heap)} MB, after the last ${mb(endHeap)} MB: ${heapGrowth} MB more (bound ${heapGrowthMb} MB); peak RSS ${mb(peakOfAll)} MB (bound ${kind === 'postgres' ? `${rssLimitMb} MB` : `${peakBound} MB = ${mb(base.rss)} MB after the first page + PGlite's shared_buffers ${buffers!.mb} MB + ${rssGrowthMb} MB; the fixed ${rssLimitMb} MB of PostgreSQL is not applied: PGlite's WebAssembly heap`})`,
);
if (!baseline || endHeap === 0) failures.push('memory: the first or last page was never measured');
if (heapGrowth > heapGrowthMb)
  failures.push(
    `memory: the JS heap grew by ${heapGrowth} MB from the first page to the last (bound ${heapGrowthMb} MB)`,
  );
if (mb(peakOfAll) > peakBound) failures.push(`memory: peak RSS ${mb(peakOfAll)} MB (bound ${peakBound} MB)`);

const [ledger] = await database.query<{ conversions: number; distinct_refs: number; restates: number }>(sql`
  select (select count(*)::int from conversions) as conversions,
         (select count(distinct source_ref)::int from conversions) as distinct_refs,
         (select count(*)::int from adjustments where type = 'restate') as restates`);
const all = Array.from({ length: deals }, (_, i) => i);
// Generated and the fake HubSpot: 80% won, 90% with a click ID (on the deal or its contact); the fake
// Salesforce: won when even, a click ID when i % 4 = 0.
const counted = (i: number) => (fake ? i % 4 === 0 : i % 5 !== 0 && i % 10 !== 1);
const expectedConversions = all.filter(counted).length;
const expectedRestates = all.filter((i) => i % 100 === (fake ? 0 : changedOffset) && counted(i)).length;
console.log(
  `ledger: ${ledger!.conversions} conversions (${ledger!.distinct_refs} deals; expected ${expectedConversions}), ${ledger!.restates} restates (expected ${expectedRestates})`,
);
if (ledger!.conversions !== expectedConversions || ledger!.distinct_refs !== expectedConversions)
  failures.push(
    `ledger: ${ledger!.conversions} conversions of ${ledger!.distinct_refs} deals, expected ${expectedConversions}`,
  );
if (ledger!.restates !== expectedRestates)
  failures.push(`ledger: ${ledger!.restates} restates, expected ${expectedRestates}`);

clearInterval(sampler);
await database.close();
await created?.drop();
if (dataDir) await rm(dataDir, { recursive: true, force: true });
await fake?.close();
await hubspot?.close();
const from =
  crm === 'salesforce'
    ? 'from the fake Salesforce through jsforce'
    : crm === 'hubspot'
      ? 'from the fake HubSpot through @hubspot/api-client'
      : 'generated';
const callsTarget =
  crm === 'generated'
    ? 'API calls ≤ pages needed + 1, '
    : crm === 'hubspot'
      ? `HTTP requests ≤ what the pages need + 2 per sync (${hubspotRequests} made), `
      : '';
const memoryTarget = `JS heap after the last page ≤ ${heapGrowthMb} MB above the first page's, peak RSS ≤ ${peakBound} MB (one page in memory)`;
console.log(
  `${failures.length === 0 ? 'PASS' : 'FAIL'} bench:crm ${deals} deals ${from} on ${kind}: ${callsTarget}${memoryTarget}, every won deal with a click ID in the ledger once, 1% changed → that many restates`,
);
for (const failure of failures) console.log(`  missed: ${failure}`);
process.exit(failures.length === 0 ? 0 : 1);
