/**
 * Submit benchmark: queued conversions sent to the emulator (a process of its own, on loopback, with
 * Microsoft's call-rate limit and injected faults) by one submitter process, then by two at once, on a
 * fresh PostgreSQL database each. The rate limit sets a floor on the wall time: (calls − 1) × 60 / N
 * seconds; the target is to come within 10% of it with ⌈rows/1000⌉ calls plus the retries the faults
 * cause, no row lost and none sent twice.
 *
 *   npm run bench:submit                                            # 1,000,000 rows, 600 calls/min, 5% faults
 *   BENCH_ROWS=50000 BENCH_CALLS_PER_MINUTE=3000 npm run bench:submit
 *   BENCH_SCENARIOS=B BENCH_FAULT_RATE=0 npm run bench:submit
 *
 * The submitters are test/bench/submit-worker.ts: the production runtime (openSending, OAuth refresh
 * against the emulator's token endpoint, MSADS_* account) draining until nothing is queued or submitting.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { sql } from 'drizzle-orm';
import { openDatabase } from '../../src/db/client.ts';
import { goals } from '../../src/db/schema/index.ts';
import type { ConversionSummary, EmulatorGoal, EmulatorStats } from '../../src/msads/emulator/types.ts';
import { callSpacingMs, spacingMargin } from '../../src/submit/schedule.ts';
import { createPostgresDatabaseUrl } from '../helpers/db.ts';
import { queueConversions } from '../helpers/submit.ts';
import {
  finished,
  newSecretKey,
  type SubmitterProcess,
  startSubmitter,
  submitterEnv,
} from '../helpers/submitter-process.ts';

const root = join(import.meta.dirname, '../..');
const cli = join(root, 'src/cli/main.ts');

const rows = Number(process.env.BENCH_ROWS ?? 1_000_000);
const callsPerMinute = Number(process.env.BENCH_CALLS_PER_MINUTE ?? 600);
const faultRate = Number(process.env.BENCH_FAULT_RATE ?? 0.05);
const seed = Number(process.env.BENCH_SEED ?? 1);
const scenarios = (process.env.BENCH_SCENARIOS ?? 'A,B').split(',');
const customerId = '1000000';
const goalName = 'Phone sale';

const n = (x: number) => x.toLocaleString('en-US');
const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

/** The emulator CLI, in a process of its own, so its CPU and memory are not the submitters'. */
async function startEmulator() {
  const child = spawn(
    process.execPath,
    [
      cli,
      'emulator',
      '--port',
      '0',
      '--auth',
      'strict',
      '--calls-per-minute',
      String(callsPerMinute),
      '--fault-rate',
      String(faultRate),
      '--seed',
      String(seed),
      '--record',
      'none',
      '--customer-id',
      customerId,
      '--goal',
      goalName,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'warn' } },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const [first] = (await Promise.race([
    once(createInterface({ input: child.stdout! }), 'line'),
    exited.then((code) => {
      throw new Error(`the emulator exited (${code}) before listening`);
    }),
  ])) as [string];
  const listening = JSON.parse(first) as { url: string; tokenUrl: string; refreshToken: string };
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${listening.url}${path}`);
    if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
    return (await res.json()) as T;
  };
  return {
    ...listening,
    get,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** One scenario on a fresh database and a fresh emulator; prints its figures, returns whether all held. */
async function scenario(name: string, processes: number): Promise<boolean> {
  const pg = await createPostgresDatabaseUrl();
  const database = await openDatabase({ kind: 'postgres', url: pg.url, max: 2 });
  const emulator = await startEmulator();
  const dataDir = mkdtempSync(join(tmpdir(), 'closeloop-bench-submit-'));
  const workers: SubmitterProcess[] = [];
  try {
    // The goal exists at Microsoft (the emulator's --goal, a day old) and here, linked and ready.
    const [remote] = await emulator.get<EmulatorGoal[]>(`/_emulator/goals?customerId=${customerId}`);
    if (!remote) throw new Error('the emulator has no goal');
    const dayAgo = new Date(Date.now() - 86_400_000);
    const [goal] = await database.db
      .insert(goals)
      .values({
        name: goalName,
        scope: 'customer',
        revenueType: 'variable',
        currency: 'USD',
        msadsGoalId: remote.id,
        createdAt: dayAgo,
        readyAt: dayAgo,
        // As Microsoft has it: no UpdateConversionGoals call.
        updatedAt: dayAgo,
        msadsSyncedAt: dayAgo,
      })
      .returning();

    const s0 = performance.now();
    await queueConversions(database, { goalId: goal!.id, goalName, count: rows, salt: name });
    await database.query(sql`analyze conversions`);
    const seeding = (performance.now() - s0) / 1000;

    const env = submitterEnv({
      databaseUrl: pg.url,
      secretKey: newSecretKey(),
      apiBaseUrl: emulator.url,
      tokenUrl: emulator.tokenUrl,
      refreshToken: emulator.refreshToken,
      customerId,
      extra: {
        CLOSELOOP_DATA_DIR: dataDir,
        MSADS_CALLS_PER_MINUTE: String(callsPerMinute),
        // Short backoff and enough attempts that a row failing several times in a row still ends accepted.
        SUBMIT_MAX_ATTEMPTS: '20',
        SUBMIT_BACKOFF_BASE_MS: '500',
        SUBMIT_BACKOFF_CAP_MS: '4000',
        SUBMIT_POLL_MS: '100',
      },
    });
    const t0 = performance.now();
    for (let i = 0; i < processes; i++) workers.push(startSubmitter(env));
    const results = await Promise.all(workers.map(finished));
    const wall = (performance.now() - t0) / 1000;

    const ledger = Object.fromEntries(
      (
        await database.query<{ state: string; n: number }>(
          sql`select state, count(*)::int as n from conversions group by state order by state`,
        )
      ).map((r) => [r.state, Number(r.n)]),
    ) as Record<string, number>;
    const stats = await emulator.get<EmulatorStats>('/_emulator/stats');
    const summary = await emulator.get<ConversionSummary>('/_emulator/conversions?summary=1');
    const [log] = await database.query<{
      abandoned: number;
      spread: number;
      short: number;
      shortItems: number;
    }>(sql`
      select count(*) filter (where outcome in ('sending', 'abandoned'))::int as abandoned,
             count(*) filter (where items < 1000)::int as short,
             coalesce(sum(items) filter (where items < 1000), 0)::int as "shortItems",
             extract(epoch from max(started_at) - min(started_at))::float8 as spread
        from submissions`);

    const minimum = Math.ceil(rows / 1000);
    const calls = stats.calls;
    const floor = ((calls - 1) * 60) / callsPerMinute;
    const lost = (ledger.queued ?? 0) + (ledger.submitting ?? 0) + (ledger.failed ?? 0);
    const accepted = ledger.accepted ?? 0;
    const duplicated = summary.keysReceivedMoreThanOnce + Math.max(0, accepted - summary.uniqueKeys);
    const ratio = wall / floor;
    const ok =
      lost === 0 &&
      duplicated === 0 &&
      accepted === rows &&
      summary.uniqueKeys === rows &&
      stats.throttled === 0 &&
      stats.maxCallsInAnyMinute <= callsPerMinute;

    console.log(
      `\n${name}: ${processes === 1 ? 'one submitter process' : `${processes} submitter processes at once`}`,
    );
    const line = (label: string, value: string) => console.log(`  ${label.padEnd(22)} ${value}`);
    line('seeding', `${n(rows)} rows in ${seeding.toFixed(1)} s (generate_series, one statement, + analyze)`);
    line(
      'calls made',
      `${n(calls)} (⌈rows/1000⌉ = ${n(minimum)}; retries ${n(calls - minimum)}; injected faults ${n(stats.faults)}; calls without a fault ${n(calls - stats.faults)})`,
    );
    line('wall time', `${wall.toFixed(1)} s (spawn → last exit)`);
    line('floor', `${floor.toFixed(1)} s = (${n(calls)} − 1) × 60 / ${callsPerMinute}`);
    line('wall / floor', `${ratio.toFixed(3)} (${ratio <= 1.1 ? 'within' : 'NOT within'} 10%)`);
    const spread = Number(log?.spread ?? 0);
    line(
      'first → last call',
      `${spread.toFixed(1)} s = ${(spread / floor).toFixed(3)} × floor (the schedule spaces calls ${callSpacingMs(callsPerMinute).toFixed(1)} ms apart, ×${spacingMargin} margin); the rest is start-up and the last answer`,
    );
    line('rows/s', n(Math.round(rows / wall)));
    line(
      'max calls in a minute',
      `${stats.maxCallsInAnyMinute} (limit N = ${callsPerMinute}); 117 answers: ${stats.throttled}`,
    );
    line(
      'rows lost',
      `${lost} (queued ${ledger.queued ?? 0}, submitting ${ledger.submitting ?? 0}, failed ${ledger.failed ?? 0}; ledger ${JSON.stringify(ledger)})`,
    );
    line(
      'rows duplicated',
      `${duplicated} (emulator keys received more than once ${summary.keysReceivedMoreThanOnce}, duplicates ignored ${stats.duplicatesIgnored}; ledger accepted ${n(accepted)} vs emulator unique ${n(summary.uniqueKeys)})`,
    );
    line('abandoned calls', String(log?.abandoned ?? 0));
    line(
      'calls under 1,000 rows',
      `${log?.short ?? 0} (carrying ${n(log?.shortItems ?? 0)} rows: the last batch, and retried rows whose backoff ended apart)`,
    );
    for (const r of results) {
      line(
        `submitter ${r.pid}`,
        `peak RSS ${mb(r.maxRssBytes)}; ${n(r.report.calls)} calls, ${n(r.report.accepted)} accepted, ${n(r.report.retried)} rows retried, ${r.report.failed} failed, ${r.rounds} drain rounds, ${r.seconds.toFixed(1)} s`,
      );
      const per = (t: { totalMs: number } | undefined) =>
        ((t?.totalMs ?? 0) / Math.max(1, r.report.calls)).toFixed(1);
      const top = Object.entries(r.profile).slice(0, 9);
      line('', `per call: ${top.map(([label, t]) => `${label} ${per(t)} ms`).join(' · ')}`);
    }
    line('result', ok ? 'ok' : 'FAILED (see above)');
    return ok;
  } finally {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await emulator.stop();
    await database.close();
    await pg.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

console.log(
  `closeloop submit benchmark — Node ${process.version}, ${new Date().toISOString()}: ${n(rows)} rows, N = ${callsPerMinute} calls/min, ${faultRate * 100}% of calls failing (http500/error0/5612), seed ${seed}`,
);
let ok = true;
if (scenarios.includes('A')) ok = (await scenario('A', 1)) && ok;
if (scenarios.includes('B')) ok = (await scenario('B', 2)) && ok;
process.exitCode = ok ? 0 : 1;
