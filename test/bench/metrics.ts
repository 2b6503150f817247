/**
 * Metrics benchmark: what one scrape of GET /metrics costs (the ledger's series, counted in SQL) with
 * 100,000 ledger rows in five goals (one in 20 queued and due, the rest accepted, held, rejected…), 20,000
 * adjustments and 2,000 submissions, on PostgreSQL and PGlite.
 *
 *   npm run bench:metrics
 *   BENCH_ROWS=500000 BENCH_DATABASES=postgres npm run bench:metrics
 *
 * Target: a scrape's p50 under 250 ms, or at most 5 × what one `select count(*) from conversions` takes on
 * the same database at the same time: a scrape runs five aggregated statements, each should cost no more
 * than a plain count of the ledger (the machine's load scales both, whatever the hardware). Prometheus scrapes every 15 to 60 s; its timeout is 10 s.
 */
import { loadavg } from 'node:os';
import { sql } from 'drizzle-orm';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { createMetricsRegistry } from '../../src/services/metrics.ts';
import { registerLedgerMetrics } from '../../src/services/metrics-ledger.ts';
import { createPostgresDatabaseUrl } from '../helpers/db.ts';
import { addAccount, addGoal, queueConversions } from '../helpers/submit.ts';

const rows = Number(process.env.BENCH_ROWS ?? 100_000);
const scrapes = Number(process.env.BENCH_SCRAPES ?? 20);
const kinds = (process.env.BENCH_DATABASES ?? 'postgres,pglite').split(',') as ('postgres' | 'pglite')[];
const targetMs = 250;
const targetRatio = 5;

async function run(kind: 'postgres' | 'pglite') {
  let database: Database;
  let drop = async () => {};
  if (kind === 'postgres') {
    const pg = await createPostgresDatabaseUrl();
    database = await openDatabase({ kind: 'postgres', url: pg.url, max: 2 });
    drop = pg.drop;
  } else database = await openDatabase({ kind: 'pglite' });
  try {
    const account = await addAccount(database);
    const perGoal = Math.floor(rows / 5);
    for (let g = 0; g < 5; g++) {
      const name = `Goal ${g}`;
      const goalId = await addGoal(database, { name });
      await queueConversions(database, { goalId, goalName: name, count: perGoal, salt: `g${g}` });
    }
    // One in 20 stays queued (due); the rest is spread over the other states, as in a ledger that has
    // been sending for a while.
    await database.query(sql`update conversions set state = (array['accepted','accepted','accepted','held','rejected','duplicate','expired'])[1 + id % 7]
                              where id % 20 <> 0`);
    await database.query(sql`
      insert into adjustments (conversion_id, type, adjustment_time, state, source, source_ref)
      select id, 'retract', now(), (array['queued','accepted','rejected'])[1 + id % 3], 'api', 'b:' || id
        from conversions where state = 'accepted' limit ${Math.round(rows / 5)}`);
    await database.query(sql`
      insert into submissions (account_id, operation, worker, items, outcome, error_code, started_at)
      select ${account.id}::uuid, 'conversions', 'bench', 1000,
             (array['accepted','partial','retry','throttled'])[1 + i % 4], case when i % 4 = 2 then '0' end, now()
        from generate_series(1, ${Math.round(rows / 50)}) i`);
    // As autovacuum leaves a table: the visibility map lets the counts read the index alone.
    await database.query(sql`vacuum analyze`);
    const metrics = createMetricsRegistry();
    registerLedgerMetrics(metrics);
    const ctx = { database, customerId: 'default', now: () => new Date() };
    await metrics.expose(ctx); // warm
    const times: number[] = [];
    const counts: number[] = [];
    let size = 0;
    for (let i = 0; i < scrapes; i++) {
      let started = performance.now();
      size = (await metrics.expose(ctx)).length;
      times.push(performance.now() - started);
      started = performance.now();
      await database.query(sql`select count(*) from conversions`);
      counts.push(performance.now() - started);
    }
    const p50 = median(times);
    const count = median(counts);
    times.sort((a, b) => a - b);
    const p95 = times[Math.min(times.length - 1, Math.floor(times.length * 0.95))]!;
    console.log(
      `${kind}: ${rows.toLocaleString('en-US')} conversions, ${scrapes} scrapes: p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms (one count(*) of the ledger: ${count.toFixed(1)} ms, ratio ${(p50 / count).toFixed(1)}), ${size.toLocaleString('en-US')} bytes`,
    );
    return { p50, ratio: p50 / count };
  } finally {
    await database.close();
    await drop();
  }
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
let pass = true;
const verdicts: string[] = [];
for (const kind of kinds) {
  const { p50, ratio } = await run(kind);
  const ok = p50 < targetMs || ratio <= targetRatio;
  pass &&= ok;
  verdicts.push(`${kind} p50 ${p50.toFixed(1)} ms, ${ratio.toFixed(1)} × a count(*)`);
}
console.log(
  `${pass ? 'PASS' : 'FAIL'}: ${verdicts.join('; ')} (target: p50 < ${targetMs} ms or ≤ ${targetRatio} × one count(*) of the ledger)`,
);
process.exitCode = pass ? 0 : 1;
