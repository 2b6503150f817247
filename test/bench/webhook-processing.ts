/**
 * Webhook processing benchmark: N received CTM calls (each a new call id and click ID) waiting as events,
 * then one processor run that turns them into ledger conversions, on PostgreSQL. Run for a small and a
 * large N in fresh databases: the rate must not fall as the ledger grows (a lookup that scans the goal's
 * ledger per call made 40,000 calls take 134 s, 299/s, where 5,000 took 2 s).
 *
 *   npm run bench:webhook-processing                 # 5,000 and 60,000 calls
 *   BENCH_CALLS=5000,20000 npm run bench:webhook-processing
 *   BENCH_DB=pglite npm run bench:webhook-processing # the embedded database, in a folder
 *
 * Target: ≥ 2,000 calls/s at every N (the receiving target: processing must keep pace with it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleDelivery } from '../../connectors/calltracking/calltrackingmetrics.fixture.ts';
import { callAdapters } from '../../connectors/calltracking/index.ts';
import type { ProviderRequest } from '../../connectors/calltracking/types.ts';
import { openDatabase } from '../../src/db/client.ts';
import { createSecrets } from '../../src/secrets.ts';
import { eventRows, insertEvents, type NewEvent } from '../../src/services/webhook-intake.ts';
import { processWebhookEvents } from '../../src/services/webhook-processor.ts';
import { createWebhookSource } from '../../src/services/webhook-sources.ts';
import { createPostgresDatabaseUrl } from '../helpers/db.ts';
import { addGoal } from '../helpers/submit.ts';
import { newSecretKey } from '../helpers/submitter-process.ts';

const sizes = (process.env.BENCH_CALLS ?? '5000,60000').split(',').map(Number);
const target = 2000;
const n = (x: number) => Math.round(x).toLocaleString('en-US');

const kind = process.env.BENCH_DB === 'pglite' ? 'pglite' : 'postgres';

async function measure(calls: number) {
  const dir = kind === 'pglite' ? mkdtempSync(join(tmpdir(), 'closeloop-bench-processing-')) : '';
  const { url, drop } =
    kind === 'postgres'
      ? await createPostgresDatabaseUrl()
      : { url: '', drop: async () => rmSync(dir, { recursive: true, force: true }) };
  try {
    const database =
      kind === 'postgres'
        ? await openDatabase({ kind: 'postgres', url, max: 2 })
        : await openDatabase({ kind: 'pglite', dataDir: dir });
    await addGoal(database, { name: 'Phone call' });
    const ctx = { database, customerId: 'default', now: () => new Date() };
    const source = await createWebhookSource({
      ctx,
      secrets: createSecrets(Buffer.from(newSecretKey(), 'hex')),
      input: {
        provider: 'calltrackingmetrics',
        name: 'Bench',
        goal: 'Phone call',
        secret: 's',
        minDurationSec: 30,
      },
    });
    const adapter = callAdapters.calltrackingmetrics!;
    const startUtc = new Date(Date.now() - 2 * 3600_000);
    let rows: NewEvent[] = [];
    for (let i = 0; i < calls; i++) {
      const msclkid = Buffer.from(`p${i}`.padStart(32, '0')).toString('hex').slice(-32);
      const { body } = sampleDelivery({ callId: `p${i}`, msclkid, startUtc, durationSec: 95 });
      const request: ProviderRequest = {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(body),
        query: {},
      };
      const parsed = adapter.parse(request, { fields: source.fields, timeZone: source.timeZone });
      if (!parsed.ok) throw new Error(parsed.reason);
      rows.push(...eventRows(source.id, request, parsed.calls, new Date()));
      if (rows.length >= 1000) {
        await insertEvents(database, rows);
        rows = [];
      }
    }
    await insertEvents(database, rows);
    const started = performance.now();
    const report = await processWebhookEvents({ ctx });
    const seconds = (performance.now() - started) / 1000;
    await database.close();
    return { calls, seconds, rate: calls / seconds, conversions: report.outcomes.conversion ?? 0 };
  } finally {
    await drop();
  }
}

const results = [];
for (const calls of sizes) {
  const r = await measure(calls);
  results.push(r);
  console.log(
    `${n(r.calls).padStart(7)} pending calls: processed in ${r.seconds.toFixed(1)} s, ${n(r.rate)} calls/s, ${n(r.conversions)} conversions`,
  );
}
const pass = results.every((r) => r.rate >= target && r.conversions === r.calls);
console.log(
  `${pass ? 'PASS' : 'FAIL'} (${kind}): ${results.map((r) => `${n(r.rate)}/s at ${n(r.calls)}`).join(', ')} (target ≥ ${n(target)} calls/s at each, every call a conversion)`,
);
process.exitCode = pass ? 0 : 1;
