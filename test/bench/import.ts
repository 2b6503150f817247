/**
 * Import benchmark: a generated conversions file with all nine time formats and five kinds of zone,
 * through preview and apply, on PGlite and on PostgreSQL. Each run is a process of its own, so its
 * peak RSS is its own; 20,000 and 100,000 rows side by side show that memory does not grow with the file.
 * "re-upload" previews the same file once more: every row must come out as a duplicate of the ledger.
 *
 *   npm run bench                     # PGlite, and PostgreSQL at BENCH_DATABASE_URL (default 127.0.0.1:5432)
 *   BENCH_ROWS=100000 npm run bench
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { applyUpload } from '../../src/ingest/apply.ts';
import { previewUpload } from '../../src/ingest/preview.ts';
import { createGoal } from '../../src/services/goals.ts';
import { createPostgresDatabaseUrl } from '../helpers/db.ts';
import { writeConversionsCsv } from './generate.ts';

const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

/** One measured run, in this process: prints one JSON line. */
async function measure(kind: 'pglite' | 'postgres', file: string, rows: number, dir: string) {
  let database: Database;
  let drop = async () => {};
  if (kind === 'pglite')
    database = await openDatabase({ kind: 'pglite', dataDir: join(dir, `pglite-${rows}`) });
  else {
    const pg = await createPostgresDatabaseUrl();
    database = await openDatabase({ kind: 'postgres', url: pg.url });
    drop = pg.drop;
  }
  try {
    const now = new Date();
    const ctx = { database, customerId: 'bench', now: () => now };
    await createGoal({ ctx, input: { name: 'Purchase' } });
    // A goal younger than 2 hours holds every row: make it a day old.
    await database.query(sql`update goals set created_at = now() - interval '1 day'`);
    const baseRss = process.memoryUsage().rss;
    const t0 = performance.now();
    const upload = await previewUpload({
      ctx,
      input: createReadStream(file),
      filename: 'bench.csv',
      kind: 'conversions',
    });
    const t1 = performance.now();
    const applied = await applyUpload({ ctx, uploadId: upload.id });
    const t2 = performance.now();
    if ((applied.counts.queued ?? 0) !== rows)
      throw new Error(`expected ${rows} queued rows, got ${JSON.stringify(applied.counts)}`);
    // The same file again, right after: every row must be found in the ledger as a duplicate.
    const again = await previewUpload({
      ctx,
      input: createReadStream(file),
      filename: 'again.csv',
      kind: 'conversions',
    });
    const t3 = performance.now();
    if ((again.counts.duplicate ?? 0) !== rows)
      throw new Error(`expected ${rows} duplicates, got ${JSON.stringify(again.counts)}`);
    const peakRss = process.resourceUsage().maxRSS * 1024;
    console.log(
      JSON.stringify({
        preview: (t1 - t0) / 1000,
        apply: (t2 - t1) / 1000,
        again: (t3 - t2) / 1000,
        baseRss,
        peakRss,
      }),
    );
  } finally {
    await database.close();
    await drop();
  }
}

async function main() {
  const sizes = (process.env.BENCH_ROWS ?? '20000,100000').split(',').map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'closeloop-bench-'));
  console.log(`closeloop import benchmark — Node ${process.version}, ${new Date().toISOString()}`);
  console.log('kind          rows   preview    apply    total      rows/s   base RSS   peak RSS   re-upload');
  try {
    for (const rows of sizes) {
      const file = join(dir, `conversions-${rows}.csv`);
      await writeConversionsCsv(file, rows, new Date());
      for (const kind of ['pglite', 'postgres'] as const) {
        let out: string;
        try {
          out = execFileSync(
            process.execPath,
            [import.meta.filename, 'measure', kind, file, String(rows), dir],
            {
              encoding: 'utf8',
              stdio: ['ignore', 'pipe', 'inherit'],
            },
          );
        } catch (err) {
          console.log(
            `${kind.padEnd(8)} ${String(rows).padStart(8)}   failed: ${(err as Error).message.split('\n')[0]}`,
          );
          continue;
        }
        const r = JSON.parse(out.trim().split('\n').pop()!);
        const total = r.preview + r.apply;
        console.log(
          `${kind.padEnd(8)} ${String(rows).padStart(9)} ${r.preview.toFixed(2).padStart(8)} s ${r.apply.toFixed(2).padStart(6)} s ${total.toFixed(2).padStart(6)} s ${Math.round(
            rows / total,
          )
            .toLocaleString('en-US')
            .padStart(
              10,
            )} ${mb(r.baseRss).padStart(10)} ${mb(r.peakRss).padStart(10)} ${r.again.toFixed(2).padStart(9)} s`,
        );
      }
      console.log(`           (file: ${mb(statSync(file).size)})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'measure') {
  const [, , , kind, file, rows, dir] = process.argv;
  await measure(kind as 'pglite' | 'postgres', file!, Number(rows), dir!);
} else {
  await main();
}
