/**
 * One submitter process, for the submit benchmark and the crash test: configured from the environment
 * exactly like `closeloop serve` (MSADS_*, SUBMIT_*, DATABASE_URL), it drains until no conversion is
 * queued or submitting — `submit --once` stops as soon as nothing is due *now*, and rows waiting out a
 * backoff are not due — then prints one JSON line: its report, its peak RSS and where its time went.
 *
 *   node test/bench/submit-worker.ts        (the environment says everything)
 *
 * Time is measured by wrapping the two things a call waits on: `globalThis.fetch` (the Microsoft client
 * uses it when given no fetch of its own) and `database.query` (every outbox and schedule statement).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { type SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { loadConfig } from '../../src/config.ts';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { createLogger } from '../../src/log.ts';
import { openSending } from '../../src/submit/runtime.ts';
import type { DrainReport } from '../../src/submit/submitter.ts';

interface Timing {
  count: number;
  ms: number;
  maxMs: number;
}

const timings = new Map<string, Timing>();
function time(label: string, ms: number) {
  const t = timings.get(label) ?? { count: 0, ms: 0, maxMs: 0 };
  t.count++;
  t.ms += ms;
  t.maxMs = Math.max(t.maxMs, ms);
  timings.set(label, t);
}

/** "http OfflineConversions/Apply", "http v2.0/token". */
function timeFetch() {
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const t0 = performance.now();
    try {
      return await realFetch(input, init);
    } finally {
      time(`http ${new URL(url).pathname.split('/').slice(-2).join('/')}`, performance.now() - t0);
    }
  };
}

/** What the outbox's statements are, by their text; anything else by its first three words. */
const statementNames: [RegExp, string][] = [
  [/^with candidates as \( .* cross join lateral \( select id, run_at from conversions/, 'claim'],
  [/^update conversions set state = 'accepted'/, 'markAccepted'],
  [/^update conversions l set state = x\.state/, 'markVerdicts'],
  [/^update conversions set state = case .* next_attempt_at = \$\d+::timestamptz \+ least/, 'markRetry'],
  [/^update conversions set state = 'queued', attempts = greatest/, 'release'],
  [/^update accounts set next_call_at/, 'reserveSlot'],
  [/^select extract\(epoch from paused_until\)/, 'pausedUntil'],
  [/^update accounts set paused_until = null/, 'clearPause'],
  [/^insert into submissions/, 'startSubmission'],
  [/^update submissions set outcome = \$1/, 'finishSubmission'],
  [/^select coalesce\(\(select d.id from unnest/, 'hasDue'],
];

function statementName(text: string): string {
  for (const [pattern, name] of statementNames) if (pattern.test(text)) return name;
  return text.split(' ').slice(0, 3).join(' ');
}

function timedDatabase(database: Database): Database {
  const dialect = new PgDialect();
  // Transactions: the claim (after its advisory lock) and the recording of Microsoft's answer (verdicts,
  // retries, accepted rows, the submission), each one transaction.
  const db = new Proxy(database.db, {
    get(target, property, receiver) {
      if (property !== 'transaction') return Reflect.get(target, property, receiver);
      return async (...args: Parameters<Database['db']['transaction']>) => {
        const t0 = performance.now();
        try {
          return await target.transaction(...args);
        } finally {
          time('sql transaction (claim, or record the answer)', performance.now() - t0);
        }
      };
    },
  });
  return {
    ...database,
    db,
    async query<T extends Record<string, unknown>>(statement: SQL): Promise<T[]> {
      const t0 = performance.now();
      try {
        return await database.query<T>(statement);
      } finally {
        const text = dialect.sqlToQuery(statement).sql.trim().replace(/\s+/g, ' ');
        time(`sql ${statementName(text)}`, performance.now() - t0);
      }
    },
  };
}

const add = (total: DrainReport, r: DrainReport) => {
  for (const key of Object.keys(total) as (keyof DrainReport)[]) {
    const v = r[key];
    if (typeof v === 'number') (total[key] as number) += v;
  }
};

async function main() {
  const config = loadConfig();
  /** Rows left but nothing sent for this long: the account is unusable (or another process hangs); fail. */
  const maxIdleMs = Number(process.env.SUBMIT_WORKER_MAX_IDLE_MS ?? 120_000);
  const log = createLogger(config.logLevel);
  const raw = await openDatabase(config.database);
  timeFetch();
  const database = timedDatabase(raw);
  const started = performance.now();
  try {
    const ctx = { database, customerId: config.customerId, now: () => new Date() };
    const sending = await openSending(ctx, config, log);
    if (sending.dryRun) throw new Error('no Microsoft account is configured (MSADS_*): refusing a dry run');
    const total: DrainReport = { ...(await sending.submitter.drain()), skippedAccounts: [] };
    let rounds = 1;
    let progressAt = performance.now();
    for (;;) {
      const [left] = await raw.query<{ left: boolean }>(sql`
        select exists (select 1 from conversions where state = 'queued')
            or exists (select 1 from conversions where state = 'submitting') as left`);
      if (!left?.left) break;
      // Nothing was due: the rest waits out a backoff, or is being sent by another process.
      await delay(config.submit.pollMs);
      const report = await sending.submitter.drain();
      rounds++;
      add(total, report);
      if (report.calls > 0 || report.reclaimed > 0) progressAt = performance.now();
      else if (performance.now() - progressAt > maxIdleMs)
        throw new Error(
          `no call for ${maxIdleMs} ms while conversions are still queued or submitting (see the log above; SUBMIT_WORKER_MAX_IDLE_MS)`,
        );
    }
    const seconds = (performance.now() - started) / 1000;
    const profile = Object.fromEntries(
      [...timings.entries()]
        .sort((a, b) => b[1].ms - a[1].ms)
        .map(([label, t]) => [
          label,
          {
            count: t.count,
            totalMs: Math.round(t.ms),
            avgMs: +(t.ms / t.count).toFixed(2),
            maxMs: Math.round(t.maxMs),
          },
        ]),
    );
    console.log(
      JSON.stringify({
        event: 'done',
        pid: process.pid,
        worker: sending.submitter.worker,
        seconds,
        rounds,
        report: total,
        maxRssBytes: process.resourceUsage().maxRSS * 1024,
        profile,
      }),
    );
  } finally {
    await raw.close();
  }
}

await main();
