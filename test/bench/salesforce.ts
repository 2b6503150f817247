/**
 * Salesforce connector benchmark: a first (full) sync of N opportunities from the fake Salesforce, then
 * an incremental sync after 1% of them changed. Prints API calls, wall time, deals/s and memory. The
 * fake runs in the same process (it generates opportunities from their index and holds none).
 *
 *   npm run bench:salesforce                       # 100,000 opportunities
 *   BENCH_DEALS=20000 npm run bench:salesforce
 *
 * Targets: API calls = the pages the data needs plus a constant (per page of up to 2,000: 1 + 4 ×
 * ⌈won deals of the page / 500⌉; plus 4 per sync), and the heap after GC at the end of the first sync
 * within 10 MB of what it was after its 5th page (memory does not grow with the number of deals).
 */
import { createSalesforceSource } from '../../connectors/salesforce/index.ts';
import { openGuard } from '../fakes/guard.ts';
import { startFakeSalesforce } from '../fakes/salesforce-server.ts';

const deals = Number(process.env.BENCH_DEALS ?? 100_000);
const heapSlackMb = 10;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:salesforce does)');

let clock = new Date('2026-06-01T00:00:00Z');
const fake = await startFakeSalesforce({ opportunityCount: deals, now: () => clock });
let calls = 0;
const source = createSalesforceSource({
  settings: { loginUrl: fake.loginUrl, clientId: fake.clientId, clickIdField: 'MSCLKID__c', currency: null },
  secrets: { clientSecret: fake.clientSecret, refreshToken: fake.refreshToken() },
  events: { onApiCall: () => calls++ },
  guard: openGuard,
});
const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;

async function run(cursor: string | null) {
  calls = 0;
  let read = 0;
  let pages = 0;
  let last = cursor;
  let peakRss = 0;
  let heapAtPage5 = 0;
  let won = 0;
  // What the data needs: per page the page itself, then for its won deals the history, converted leads,
  // contact roles and contacts' leads, in lists of 500 Ids; plus 4 per sync (token, getUserInfo, org, stages).
  let target = 4;
  const started = performance.now();
  for await (const page of source.pull(cursor)) {
    read += page.deals.length;
    const wonInPage = page.deals.filter((d) => d.won).length;
    won += wonInPage;
    target += 1 + 4 * Math.ceil(wonInPage / 500);
    pages++;
    last = page.cursor;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (pages === 5) {
      gc?.();
      heapAtPage5 = process.memoryUsage().heapUsed;
    }
  }
  const ms = performance.now() - started;
  gc?.();
  const heapEnd = process.memoryUsage().heapUsed;
  return { read, pages, won, calls, target, ms, peakRss, heapAtPage5, heapEnd, cursor: last };
}

const first = await run(null);
for (let i = 0; i < deals / 100; i++) {
  clock = new Date(clock.getTime() + 1000);
  fake.setAmount(fake.opportunityId(i * 100), 7 + i);
}
const second = await run(first.cursor);
await fake.close();

for (const [name, r] of [
  ['first sync', first],
  ['incremental (1% changed)', second],
] as const) {
  console.log(
    `${name.padEnd(25)} ${r.read.toLocaleString('en-US')} deals in ${r.pages} pages, ${r.calls} API calls, ${(r.ms / 1000).toFixed(1)} s, ${Math.round(r.read / (r.ms / 1000)).toLocaleString('en-US')} deals/s, peak RSS ${mb(r.peakRss)} MB, heap after GC ${mb(r.heapEnd)} MB`,
  );
}
const callsOk = first.calls <= first.target && second.calls <= second.target;
const heapOk = first.heapAtPage5 === 0 || first.heapEnd - first.heapAtPage5 <= heapSlackMb * 1e6;
console.log(
  `\n${callsOk && heapOk ? 'PASS' : 'FAIL'} bench:salesforce: API calls ${first.calls} and ${second.calls} (target: the pages plus 4 lookups per 500 won deals plus 4, ≤ ${first.target} and ≤ ${second.target}); heap after GC ${mb(first.heapAtPage5)} MB after page 5 → ${mb(first.heapEnd)} MB after ${first.pages} pages (target: grows ≤ ${heapSlackMb} MB)`,
);
process.exitCode = callsOk && heapOk ? 0 : 1;
