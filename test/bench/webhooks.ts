/**
 * Webhook benchmark: signed CallTrackingMetrics webhooks (a distinct call id each) from autocannon, 50
 * connections for a fixed time, against `closeloop serve` on PostgreSQL over loopback, the load
 * generator on the same machine. Prints requests/s, p50/p99 latency and non-2xx answers; then counts the
 * events in the database (every acknowledged webhook must be there) and waits until each became a
 * conversion in the ledger. Beside it, from the same run, the ceiling: a minimal Hono handler doing one
 * INSERT per request (test/bench/webhooks-ceiling.ts) under the same load.
 *
 *   npm run bench:webhooks                        # 20 s each
 *   BENCH_SECONDS=10 npm run bench:webhooks
 *   BENCH_DB=pglite npm run bench:webhooks        # the embedded default: serve owns a PGlite folder
 *
 * On PGlite the service owns its folder, so the counts come from its GET /metrics while it runs and from
 * the folder itself once it has stopped; the ceiling is a Hono handler on PGlite in a folder of its own.
 *
 * Targets: ≥ 2,000 acknowledged webhooks/s sustained, p99 < 50 ms, every acknowledged event stored and
 * turned into a conversion, and the processing keeping pace: conversions made per second, from the start
 * of the load until the last one, ≥ 2,000 too (else a sustained load would pile up unprocessed calls).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon, { type Request as CannonRequest } from 'autocannon';
import { sql } from 'drizzle-orm';
import { sampleDelivery } from '../../connectors/calltracking/calltrackingmetrics.fixture.ts';
import { signCtm } from '../../connectors/calltracking/calltrackingmetrics.ts';
import { openDatabase } from '../../src/db/client.ts';
import { createSecrets } from '../../src/secrets.ts';
import { createWebhookSource } from '../../src/services/webhook-sources.ts';
import { createPostgresDatabaseUrl } from '../helpers/db.ts';
import { startServe } from '../helpers/serve.ts';
import { addGoal } from '../helpers/submit.ts';
import { newSecretKey } from '../helpers/submitter-process.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const targetRate = 2000;
const targetP99Ms = 50;
const secret = 'bench-ctm-account-secret';
const n = (x: number) => Math.round(x).toLocaleString('en-US');

/** Signed CTM deliveries, each with its own call id and click ID, made as autocannon sends them. */
function signedLoad(prefix: string) {
  let i = 0;
  const start = new Date(Date.now() - 2 * 3600_000);
  return {
    method: 'POST' as const,
    setupRequest: (req: CannonRequest): CannonRequest => {
      i++;
      const callId = `${prefix}${i}`;
      const msclkid = `${prefix}${i}`.padStart(32, '0').slice(-32);
      const { body } = sampleDelivery({ callId, msclkid: hex(msclkid), startUtc: start, durationSec: 95 });
      const time = String(Math.floor(Date.now() / 1000));
      return {
        ...req,
        body,
        headers: {
          'content-type': 'application/json',
          'x-ctm-time': time,
          'x-ctm-signature': signCtm(secret, time, body),
        },
      };
    },
  };
}
const hex = (s: string) => Buffer.from(s).toString('hex').slice(-32);

async function load(url: string, prefix: string) {
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: [signedLoad(prefix)],
  });
  const acknowledged = result['2xx'];
  return {
    rate: acknowledged / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors + result.timeouts,
    acknowledged,
  };
}

async function ceiling(target: { DATABASE_URL: string } | { PGLITE_DIR: string }) {
  const child = spawn(process.execPath, [new URL('./webhooks-ceiling.ts', import.meta.url).pathname], {
    env: { ...process.env, ...target },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  let port = 0;
  for await (const line of lines) {
    const m = /^listening (\d+)/.exec(line);
    if (m) {
      port = Number(m[1]);
      break;
    }
  }
  const figures = await load(`http://127.0.0.1:${port}/hook`, 'c');
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return figures;
}

/** User + system CPU seconds of a process so far (Linux /proc). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The service's own counts, from GET /metrics: events processed (by outcome) and pending. */
async function countFromMetrics(base: string) {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
  const text = await res.text();
  const sum = (name: string, outcome?: string) =>
    text
      .split('\n')
      .filter(
        (l) => l.startsWith(`${name}{`) && (outcome === undefined || l.includes(`outcome="${outcome}"`)),
      )
      .reduce((total, l) => total + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  const pending = sum('closeloop_webhook_events_pending');
  return {
    events: sum('closeloop_webhook_events_total') + pending,
    converted: sum('closeloop_webhook_events_total', 'conversion'),
    pending,
  };
}

async function ledgerCalls(database: Awaited<ReturnType<typeof openDatabase>>): Promise<number> {
  const [row] = await database.query<{ n: number }>(
    sql`select count(*)::int as n from conversions where source = 'call'`,
  );
  return Number(row!.n);
}

const row = (name: string, f: Awaited<ReturnType<typeof load>>) =>
  `${name.padEnd(30)} ${n(f.rate).padStart(7)}/s   p50 ${String(f.p50).padStart(3)} ms   p99 ${String(f.p99).padStart(3)} ms   non-2xx ${n(f.non2xx)}   acknowledged ${n(f.acknowledged)}`;

const kind = process.env.BENCH_DB === 'pglite' ? 'pglite' : 'postgres';
const pgliteDir = kind === 'pglite' ? mkdtempSync(join(tmpdir(), 'closeloop-bench-webhooks-')) : '';
const { url: databaseUrl, drop } =
  kind === 'postgres' ? await createPostgresDatabaseUrl() : { url: '', drop: async () => {} };
const openBenchDatabase = () =>
  kind === 'postgres'
    ? openDatabase({ kind: 'postgres', url: databaseUrl, max: 2 })
    : openDatabase({ kind: 'pglite', dataDir: pgliteDir });
const metricsToken = randomBytes(16).toString('hex');
const key = newSecretKey();
try {
  let database = await openBenchDatabase();
  await addGoal(database, { name: 'Phone call' });
  const secrets = createSecrets(Buffer.from(key, 'hex'));
  const ctx = { database, customerId: 'default', now: () => new Date() };
  const source = await createWebhookSource({
    ctx,
    secrets,
    input: { provider: 'calltrackingmetrics', name: 'Bench', goal: 'Phone call', secret, minDurationSec: 30 },
  });
  // PGlite: one process owns the folder; the service takes it over.
  if (kind === 'pglite') await database.close();
  const service = await startServe({
    ...(kind === 'postgres' ? { DATABASE_URL: databaseUrl } : { CLOSELOOP_DATA_DIR: pgliteDir }),
    CLOSELOOP_SECRET_KEY: key,
    CLOSELOOP_METRICS_TOKEN: metricsToken,
    LOG_LEVEL: 'info',
  });
  let closeloop: Awaited<ReturnType<typeof load>>;
  let stored = 0;
  let converted = 0;
  let drainSeconds = 0;
  try {
    console.log(
      `closeloop serve on ${kind}: ${connections} connections, ${seconds} s of signed CTM webhooks …`,
    );
    const cpuBefore = cpuSeconds(service.child.pid!);
    closeloop = await load(`${service.base}/webhooks/calltrackingmetrics/${source.id}`, 'w');
    const cpu = cpuSeconds(service.child.pid!) - cpuBefore;
    console.log(row('closeloop (auth + group commit)', closeloop));
    console.log(
      `closeloop serve used ${cpu.toFixed(1)} s of CPU during the ${seconds} s load: ${n((cpu * 1e6) / Math.max(1, closeloop.acknowledged))} µs per acknowledged webhook (receiving, processing and sending)`,
    );
    const count = async () => {
      if (kind === 'pglite') return countFromMetrics(service.base);
      const [row] = await database.query<{ events: number; converted: number; pending: number }>(sql`
        select count(*)::int as events,
               count(*) filter (where outcome = 'conversion' and conversion_id is not null)::int as converted,
               count(*) filter (where state = 'pending')::int as pending
          from webhook_events`);
      return row!;
    };
    stored = (await count()).events;
    const drainStart = Date.now();
    for (;;) {
      const c = await count();
      converted = c.converted;
      if (c.pending === 0 || Date.now() - drainStart > 300_000) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    drainSeconds = (Date.now() - drainStart) / 1000;
    if (kind === 'postgres') {
      // Requests cut off when the load stopped may have been stored after the count above.
      stored = (await count()).events;
      converted = Math.min(converted, await ledgerCalls(database));
    }
  } finally {
    service.child.kill('SIGTERM');
    await service.exited;
  }
  if (kind === 'pglite') {
    // The folder is the bench's again: count in it.
    database = await openBenchDatabase();
    const [row] = await database.query<{ events: number; converted: number }>(sql`
      select count(*)::int as events,
             count(*) filter (where outcome = 'conversion' and conversion_id is not null)::int as converted
        from webhook_events`);
    stored = Number(row!.events);
    converted = Math.min(Number(row!.converted), await ledgerCalls(database));
  }
  console.log('ceiling: a minimal Hono handler, one INSERT per request, same load …');
  const top = await ceiling(
    kind === 'postgres' ? { DATABASE_URL: databaseUrl } : { PGLITE_DIR: join(pgliteDir, 'ceiling') },
  );
  await database.close();

  console.log('');
  console.log(row('closeloop (auth + group commit)', closeloop));
  console.log(row('ceiling (1 INSERT / request)', top));
  const processingRate = converted / (seconds + drainSeconds);
  console.log(
    `stored events ${n(stored)} (acknowledged ${n(closeloop.acknowledged)}); conversions ${n(converted)}; processing finished ${drainSeconds.toFixed(1)} s after the load: ${n(processingRate)} conversions/s from the start of the load`,
  );
  const pass =
    closeloop.rate >= targetRate &&
    closeloop.p99 < targetP99Ms &&
    stored >= closeloop.acknowledged &&
    converted === stored &&
    processingRate >= targetRate;
  console.log(
    `${pass ? 'PASS' : 'FAIL'}: ${n(closeloop.rate)} acknowledged webhooks/s (target ≥ ${n(targetRate)}), p99 ${closeloop.p99} ms (target < ${targetP99Ms} ms), stored ${n(stored)} ≥ acknowledged ${n(closeloop.acknowledged)}, conversions ${n(converted)} = stored, processed ${n(processingRate)}/s (target ≥ ${n(targetRate)})`,
  );
  process.exitCode = pass ? 0 : 1;
} finally {
  await drop();
  if (pgliteDir) rmSync(pgliteDir, { recursive: true, force: true });
}
