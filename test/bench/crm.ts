/**
 * CRM sync benchmark: 100,000 deals, a first sync (backfill), then an incremental sync in which 1% of
 * the deals changed (amounts: Restates). Prints API calls, wall time, rows/s and peak RSS for each, and
 * a pass line with the targets: API calls = the pages the data needs + a constant (the sync itself adds
 * none), peak RSS under a bound that does not grow with the number of deals (one page in memory), and
 * every won deal in the ledger exactly once.
 *
 *   npm run bench:crm                                   # 100,000 deals, pages of 2,000, on PostgreSQL
 *   BENCH_DEALS=20000 npm run bench:crm                 # small
 *   BENCH_DB=pglite npm run bench:crm                   # the embedded database
 *
 *   BENCH_CRM=salesforce npm run bench:crm              # the whole path: the fake Salesforce server
 *                                                       # through jsforce and the real connector
 *
 * By default the CRM is generated deal by deal behind our own DealSource interface (nothing is held but
 * the page under way), so the figures are closeloop's side of a sync: the rules, staging, checks, ledger
 * and per-deal state. With BENCH_CRM=salesforce the deals come from the fake Salesforce of
 * test/fakes/salesforce-server.ts (in this process, generating opportunities from their index: won when
 * even, a click ID when i % 4 = 0) through jsforce and connectors/salesforce, and API calls are the HTTP
 * requests the connector made (its own target, per page of 2,000: 1 + 4 lookups per 500 won deals, plus
 * 4 per sync, is checked by npm run bench:salesforce).
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { DealPage, DealRecord, DealSource } from '../../connectors/deals.ts';
import { createSalesforceSource } from '../../connectors/salesforce/index.ts';
import { openDatabase } from '../../src/db/client.ts';
import { createSecrets } from '../../src/secrets.ts';
import { syncConnector } from '../../src/services/connector-sync.ts';
import { addConnector } from '../../src/services/connectors.ts';
import { allowLoopback } from '../fakes/guard.ts';
import { startFakeSalesforce } from '../fakes/salesforce-server.ts';
import { createPostgresDatabaseUrl } from '../helpers/db.ts';
import { addGoal } from '../helpers/submit.ts';

const deals = Number(process.env.BENCH_DEALS ?? 100_000);
const pageSize = Number(process.env.BENCH_PAGE ?? 2000);
const changedShare = 0.01;
/** The changed deals are i ≡ 2 (mod 100): won and with a click ID, so each makes one Restate. */
const changedOffset = 2;
/** Peak RSS bound: a page of deals and its staging, whatever the number of deals. */
const rssLimitMb = Number(process.env.BENCH_RSS_MB ?? 400);
const kind = process.env.BENCH_DB === 'pglite' ? 'pglite' : 'postgres';
const crm = process.env.BENCH_CRM === 'salesforce' ? 'salesforce' : 'generated';

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

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);

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
let apiCalls = 0;
const sources: Parameters<typeof syncConnector>[0]['sources'] = fake
  ? async ({ events, guard }) =>
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
      })
  : async () => generatedCrm();

const created = kind === 'postgres' ? await createPostgresDatabaseUrl() : undefined;
const database = await openDatabase(
  created ? { kind: 'postgres', url: created.url, max: 4 } : { kind: 'pglite' },
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
    : { kind: 'hubspot', name: 'bench', goal: 'Won deal', secrets: { token: 't' } },
});

const figures: string[] = [];
let ok = true;
for (const label of ['first sync', 'incremental (1% changed)'] as const) {
  if (fake && label !== 'first sync')
    for (let i = 0; i < deals; i += Math.round(1 / changedShare)) {
      fakeClock = new Date(fakeClock.getTime() + 1000);
      fake.setAmount(fake.opportunityId(i), 7 + i);
    }
  pagesServed = 0;
  apiCalls = 0;
  peakRss = process.memoryUsage().rss;
  const t0 = performance.now();
  const report = await syncConnector({ ctx, secrets, policy: allowLoopback, id: 'bench', sources });
  const seconds = (performance.now() - t0) / 1000;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const c = report.counts;
  const neededPages = Math.ceil(c.dealsRead / pageSize);
  const calls = fake
    ? `${apiCalls} HTTP requests to the fake Salesforce`
    : `${pagesServed} API calls, needed ${neededPages}`;
  const line = `${label}: ${c.dealsRead} deals in ${c.pages} pages (${calls}), ${c.conversions} conversions, ${c.restates} restates, ${c.unchanged} unchanged, skipped ${JSON.stringify(c.skipped)}; ${seconds.toFixed(1)} s, ${Math.round(c.dealsRead / seconds)} deals/s, peak RSS ${Math.round(peakRss / 1048576)} MB`;
  console.log(line);
  figures.push(line);
  if (report.status !== 'succeeded') {
    console.log(`  failed: ${report.error}`);
    ok = false;
  }
  if ((!fake && pagesServed > neededPages + 1) || peakRss / 1048576 > rssLimitMb) ok = false;
}

const [ledger] = await database.query<{ conversions: number; distinct_refs: number; restates: number }>(sql`
  select (select count(*)::int from conversions) as conversions,
         (select count(distinct source_ref)::int from conversions) as distinct_refs,
         (select count(*)::int from adjustments where type = 'restate') as restates`);
const all = Array.from({ length: deals }, (_, i) => i);
// Generated: 80% won, 90% with a click ID; the fake Salesforce: won when even, a click ID when i % 4 = 0.
const counted = (i: number) => (fake ? i % 4 === 0 : i % 5 !== 0 && i % 10 !== 1);
const expectedConversions = all.filter(counted).length;
const expectedRestates = all.filter((i) => i % 100 === (fake ? 0 : changedOffset) && counted(i)).length;
console.log(
  `ledger: ${ledger!.conversions} conversions (${ledger!.distinct_refs} deals; expected ${expectedConversions}), ${ledger!.restates} restates (expected ${expectedRestates})`,
);
if (ledger!.conversions !== expectedConversions || ledger!.distinct_refs !== expectedConversions) ok = false;
if (ledger!.restates !== expectedRestates) ok = false;

clearInterval(sampler);
await database.close();
await created?.drop();
await fake?.close();
console.log(
  `${ok ? 'PASS' : 'FAIL'} bench:crm ${deals} deals ${fake ? 'from the fake Salesforce through jsforce' : 'generated'} on ${kind}: ${fake ? '' : 'API calls ≤ pages needed + 1, '}peak RSS ≤ ${rssLimitMb} MB (one page in memory), every won deal with a click ID in the ledger once, 1% changed → that many restates`,
);
process.exit(ok ? 0 : 1);
