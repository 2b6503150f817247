/**
 * Submit benchmark: queued conversions sent to the emulator (a process of its own, on loopback, with
 * Microsoft's call-rate limit and injected faults) by one submitter process, then by two at once, on a
 * fresh PostgreSQL database each. The rate limit sets a floor on the wall time: (calls − 1) × 60 / N
 * seconds; the target is to come within 10% of it with ⌈rows/1000⌉ calls plus the retries the faults
 * cause, never above N calls in a minute, no row lost and none sent twice. The faults include answers
 * lost after the emulator stored the batch (applied500): those rows must be sent again, stored once.
 * "Lost" is counted against the emulator: rows the ledger has accepted that it does not hold, and rows
 * it holds that the ledger does not have as accepted.
 *
 *   npm run bench:submit                                            # 1,000,000 rows, 600 calls/min, 5% faults
 *   BENCH_ROWS=20000 BENCH_CALLS_PER_MINUTE=600 BENCH_TARGET_RATIO=2 npm run bench:submit  # small (~30 s)
 *   BENCH_SCENARIOS=B BENCH_FAULT_RATE=0 npm run bench:submit
 *   BENCH_FAULT_KINDS=applied500 npm run bench:submit               # every fault an answer lost
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
const faultKinds = process.env.BENCH_FAULT_KINDS ?? 'http500,applied500,error0,5612';
/** Wall time within this factor of the rate-limit floor; start-up (~3 s) weighs more in a small run. */
const targetRatio = Number(process.env.BENCH_TARGET_RATIO ?? 1.1);
const seed = Number(process.env.BENCH_SEED ?? 1);
const scenarios = (process.env.BENCH_SCENARIOS ?? 'A,B').split(',');
const customerId = '1000000';
/** MSADS_ACCOUNT_ID of the submitters (submitterEnv's default): the emulator keys conversions by it. */
const msAccountId = '2000001';
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
      '--fault-kinds',
      faultKinds,
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
  const get = async <T>(path: string, body?: unknown): Promise<T> => {
    const res = await fetch(
      `${listening.url}${path}`,
      body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) },
    );
    if (!res.ok) throw new Error(`${body === undefined ? 'GET' : 'POST'} ${path}: HTTP ${res.status}`);
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

/**
 * The ledger against what the emulator holds. The emulator only ever receives this benchmark's rows, so
 * it holds a subset of them: the rows it holds but the ledger has not accepted are found by asking it
 * about each row not accepted (normally none), and the accepted rows it does not hold follow from the
 * counts: accepted − held + held-but-not-accepted.
 */
async function compareWithEmulator(
  database: Awaited<ReturnType<typeof openDatabase>>,
  emulator: Awaited<ReturnType<typeof startEmulator>>,
  accepted: number,
): Promise<{ acceptedNotHeld: number; heldNotAccepted: number }> {
  const { uniqueKeys } = await emulator.get<ConversionSummary>('/_emulator/conversions?summary=1');
  const others = await database.query<{ name: string; click: string; time: string }>(sql`
    select goal_name as name, click_id as click,
           to_char(conversion_time at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as time
      from conversions where state <> 'accepted'`);
  let heldNotAccepted = 0;
  for (let i = 0; i < others.length; i += 5000) {
    const { held } = await emulator.get<{ held: boolean[] }>('/_emulator/conversions/held', {
      customerId,
      accountId: msAccountId,
      conversions: others
        .slice(i, i + 5000)
        .map((r) => ({ ConversionName: r.name, MicrosoftClickId: r.click, ConversionTime: r.time })),
    });
    heldNotAccepted += held.filter(Boolean).length;
  }
  return { acceptedNotHeld: accepted - uniqueKeys + heldNotAccepted, heldNotAccepted };
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
      accountId: msAccountId,
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
    const unfinished = (ledger.queued ?? 0) + (ledger.submitting ?? 0) + (ledger.failed ?? 0);
    const accepted = ledger.accepted ?? 0;
    const { acceptedNotHeld, heldNotAccepted } = await compareWithEmulator(database, emulator, accepted);
    const lost = acceptedNotHeld + heldNotAccepted;
    // A row whose answer was lost after the emulator stored it (applied500) is rightly sent again; any
    // other key the emulator received twice was sent twice.
    const duplicated = Math.max(0, summary.keysReceivedMoreThanOnce - stats.storedThenFailed);
    const ratio = wall / floor;
    const ok =
      lost === 0 &&
      unfinished === 0 &&
      duplicated === 0 &&
      accepted === rows &&
      summary.uniqueKeys === rows &&
      ratio <= targetRatio &&
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
    line('wall / floor', `${ratio.toFixed(3)} (target ≤ ${targetRatio})`);
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
      `${lost} (accepted here, not held by the emulator ${acceptedNotHeld}; held by the emulator, not accepted here ${heldNotAccepted}; ledger accepted ${n(accepted)} vs emulator holding ${n(summary.uniqueKeys)})`,
    );
    line(
      'rows unfinished',
      `${unfinished} (queued ${ledger.queued ?? 0}, submitting ${ledger.submitting ?? 0}, failed ${ledger.failed ?? 0}; ledger ${JSON.stringify(ledger)})`,
    );
    line(
      'rows sent twice',
      `${duplicated} (emulator keys received more than once ${n(summary.keysReceivedMoreThanOnce)}, of which stored by a call whose answer was lost and rightly sent again ${n(stats.storedThenFailed)}; duplicates ignored ${n(stats.duplicatesIgnored)})`,
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
    line(
      'result',
      `${ok ? 'ok' : 'FAILED'}: wall/floor ${ratio.toFixed(3)} (target ≤ ${targetRatio}), max calls in a minute ${stats.maxCallsInAnyMinute} (≤ N = ${callsPerMinute}), 117 answers ${stats.throttled}, lost ${lost}, unfinished ${unfinished}, sent twice ${duplicated}`,
    );
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
  `closeloop submit benchmark — Node ${process.version}, ${new Date().toISOString()}: ${n(rows)} rows, N = ${callsPerMinute} calls/min, ${faultRate * 100}% of calls failing (${faultKinds.replaceAll(',', '/')}), seed ${seed}`,
);
let ok = true;
if (scenarios.includes('A')) ok = (await scenario('A', 1)) && ok;
if (scenarios.includes('B')) ok = (await scenario('B', 2)) && ok;
process.exitCode = ok ? 0 : 1;
