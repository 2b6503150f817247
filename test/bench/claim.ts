/**
 * Claim benchmark: what one outbox claim (hasDue, then claimBatch of up to 1,000 rows) costs with a
 * shallow queue (only the rows being claimed) and with a deep one (the same rows behind 350,000 others
 * it must not take: in backoff, held, or due under another account's goal), for conversions and for
 * adjustments, on PostgreSQL and PGlite. The deep rows are inserted first, so an index walked in id
 * order meets all of them before the due ones (the worst case, and the one measured in issue 8: 377 ms
 * per claim against 1.5 ms).
 *
 *   npm run bench:claim                                  # 350,000 deep rows, 20 claims, both databases
 *   BENCH_DEPTH=50000 BENCH_DATABASES=postgres npm run bench:claim
 *
 * Target: the deep claim's p50 is at most 3 × the shallow one's, or at most 5 ms more.
 */
import { sql } from 'drizzle-orm';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { ts } from '../../src/db/sql.ts';
import { claimBatch, hasDue } from '../../src/submit/outbox.ts';
import { createPostgresDatabaseUrl } from '../helpers/db.ts';
import { addAccount, addGoal, queueConversions } from '../helpers/submit.ts';

const depth = Number(process.env.BENCH_DEPTH ?? 350_000);
const claims = Number(process.env.BENCH_CLAIMS ?? 20);
const kinds = (process.env.BENCH_DATABASES ?? 'postgres,pglite').split(',') as ('postgres' | 'pglite')[];
const batch = 1000;
/** The pass line: deep p50 ≤ ratio × shallow p50, or within this many ms of it. */
const targetRatio = 3;
const targetSlackMs = 5;

const n = (x: number) => x.toLocaleString('en-US');
const hourAhead = () => new Date(Date.now() + 3_600_000);

interface Rig {
  database: Database;
  accountId: string;
  ours: string;
  theirs: string;
  close: () => Promise<void>;
}

async function rig(kind: 'postgres' | 'pglite'): Promise<Rig> {
  let database: Database;
  let drop = async () => {};
  if (kind === 'postgres') {
    const pg = await createPostgresDatabaseUrl();
    database = await openDatabase({ kind: 'postgres', url: pg.url, max: 2 });
    drop = pg.drop;
  } else database = await openDatabase({ kind: 'pglite' });
  const account = await addAccount(database);
  await addAccount(database, { name: 'Other account', msAccountId: '2001', isDefault: false });
  const ours = await addGoal(database, { name: 'Ours' });
  const theirs = await addGoal(database, { name: 'Theirs', accountId: '2001' });
  return {
    database,
    accountId: account.id,
    ours,
    theirs,
    close: async () => {
      await database.close();
      await drop();
    },
  };
}

/**
 * The rows a claim must pass over: 40% in backoff and 30% held under our goal, 30% due under another
 * account's goal. Returns nothing; with `accepted`, they are accepted conversions (for adjustments).
 */
async function seedDeep(r: Rig, rows: number, salt: string) {
  const backoff = Math.round(rows * 0.4);
  const held = Math.round(rows * 0.3);
  const other = rows - backoff - held;
  await queueConversions(r.database, { goalId: r.ours, goalName: 'Ours', count: backoff, salt: `${salt}b` });
  await r.database.query(
    sql`update conversions set next_attempt_at = ${ts(hourAhead())}, attempts = 1 where state = 'queued'`,
  );
  await queueConversions(r.database, {
    goalId: r.ours,
    goalName: 'Ours',
    count: held,
    salt: `${salt}h`,
    state: 'held',
    heldUntil: hourAhead(),
  });
  await queueConversions(r.database, {
    goalId: r.theirs,
    goalName: 'Theirs',
    count: other,
    salt: `${salt}o`,
  });
}

/** Every conversion accepted, each with one adjustment in the state the conversion had. */
async function turnIntoAdjustments(r: Rig) {
  await r.database.query(sql`
    insert into adjustments (conversion_id, type, adjustment_time, value, currency, state, held_until,
                             next_attempt_at, attempts, source, source_ref)
    select id, 'restate', conversion_time + interval '1 minute', 20, 'USD', state, held_until,
           next_attempt_at, attempts, 'api', 'bench:' || id
      from conversions order by id`);
  await r.database.query(sql`
    update conversions set state = 'accepted', held_until = null, next_attempt_at = null, attempts = 1`);
}

async function reset(r: Rig) {
  await r.database.query(sql`delete from adjustments`);
  await r.database.query(sql`delete from conversions`);
}

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]!;
};

interface Timing {
  claimP50: number;
  claimP95: number;
  hasDueP50: number;
  taken: number;
}

/** `claims` rounds of hasDue + claimBatch, each taking one batch of the due rows. */
async function measure(r: Rig, table: 'conversions' | 'adjustments'): Promise<Timing> {
  await r.database.query(sql`analyze conversions`);
  await r.database.query(sql`analyze adjustments`);
  const claimMs: number[] = [];
  const hasDueMs: number[] = [];
  let taken = 0;
  for (let i = 0; i < claims; i++) {
    const now = new Date();
    const t0 = performance.now();
    const due = await hasDue(r.database, { goalIds: [r.ours], now });
    const t1 = performance.now();
    const claimed = await claimBatch(r.database, {
      accountId: r.accountId,
      goalIds: [r.ours],
      limit: batch,
      submissionId: crypto.randomUUID(),
      now,
    });
    const t2 = performance.now();
    if (!due || claimed.table !== table || claimed.rows.length !== batch)
      throw new Error(
        `claim ${i + 1} took ${claimed.rows.length} ${claimed.table} (due: ${due}); expected ${batch} ${table}`,
      );
    taken += claimed.rows.length;
    hasDueMs.push(t1 - t0);
    claimMs.push(t2 - t1);
  }
  return {
    claimP50: percentile(claimMs, 0.5),
    claimP95: percentile(claimMs, 0.95),
    hasDueP50: percentile(hasDueMs, 0.5),
    taken,
  };
}

async function run(kind: 'postgres' | 'pglite'): Promise<boolean> {
  const r = await rig(kind);
  let ok = true;
  try {
    for (const table of ['conversions', 'adjustments'] as const) {
      const results: Record<'shallow' | 'deep', Timing> = {} as never;
      for (const shape of ['shallow', 'deep'] as const) {
        await reset(r);
        const s0 = performance.now();
        if (shape === 'deep') await seedDeep(r, depth, 'd');
        await queueConversions(r.database, {
          goalId: r.ours,
          goalName: 'Ours',
          count: claims * batch,
          salt: 'q',
        });
        if (table === 'adjustments') await turnIntoAdjustments(r);
        const seeded = (performance.now() - s0) / 1000;
        results[shape] = await measure(r, table);
        const t = results[shape];
        console.log(
          `  ${kind.padEnd(8)} ${table.padEnd(11)} ${shape.padEnd(7)} ${`${n(shape === 'deep' ? depth : 0)} other rows`.padEnd(18)} claim p50 ${t.claimP50.toFixed(1).padStart(6)} ms  p95 ${t.claimP95.toFixed(1).padStart(6)} ms  hasDue p50 ${t.hasDueP50.toFixed(2).padStart(6)} ms  (${claims} claims of ${n(batch)}; seeded in ${seeded.toFixed(1)} s)`,
        );
      }
      const { shallow, deep } = results;
      const pass =
        deep.claimP50 <= targetRatio * shallow.claimP50 || deep.claimP50 <= shallow.claimP50 + targetSlackMs;
      ok &&= pass;
      console.log(
        `  ${kind.padEnd(8)} ${table.padEnd(11)} deep/shallow claim p50 = ${(deep.claimP50 / shallow.claimP50).toFixed(2)} (target ≤ ${targetRatio}, or ≤ +${targetSlackMs} ms): ${pass ? 'ok' : 'FAILED'}`,
      );
    }
  } finally {
    await r.close();
  }
  return ok;
}

console.log(
  `closeloop claim benchmark — Node ${process.version}, ${new Date().toISOString()}: ${n(depth)} rows not to take (40% backoff, 30% held, 30% another account's), ${claims} claims of ${n(batch)} due rows`,
);
let ok = true;
for (const kind of kinds) ok = (await run(kind)) && ok;
console.log(`result: ${ok ? 'ok' : 'FAILED'}`);
process.exitCode = ok ? 0 : 1;
