/**
 * CLI start-up benchmark: each command runs in a fresh process, as `npx closeloop` runs it (node
 * bin/closeloop.mjs), several times; the median wall time is compared with its target.
 *
 *   npm run bench:cli                                   # 7 runs per case
 *   BENCH_RUNS=15 npm run bench:cli
 *   BENCH_CLI_ROOT=/tmp/closeloop-before npm run bench:cli   # another checkout, for before/after figures
 *
 * Targets (issue 9): `closeloop --help` under 0.3 s; `closeloop goals list` under 0.5 s in a realistic
 * setup — on PostgreSQL (DATABASE_URL, production), and on the embedded database while `closeloop serve`
 * runs (the quick start: the service owns the data folder and commands reach it through its socket).
 * `goals list` opening a PGlite folder itself (no service running) is measured and shown without a
 * target: PGlite needs about a second to open a folder whatever the CLI does.
 *
 * The machine's load average is printed with the figures; on 2 shared cores it moves them a lot. The
 * CPU column (user + system time of the process, median) moves much less.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresDatabaseUrl } from '../helpers/db.ts';
import { startServe } from '../helpers/serve.ts';

const root = process.env.BENCH_CLI_ROOT ?? join(import.meta.dirname, '../..');
const bin = join(root, 'bin/closeloop.mjs');
const runs = Number(process.env.BENCH_RUNS ?? 7);

interface Case {
  name: string;
  args: string[];
  env: Record<string, string>;
  /** Seconds; undefined: measured and shown, no target. */
  target?: number;
}

/**
 * GNU time, when the machine has it, adds the CPU time the process used (user + system): on 2 shared
 * cores the wall time mostly measures the other processes, the CPU time much less so.
 */
const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const cpuMarker = 'closeloop-bench-cpu';

function run(c: Case): { wall: number; cpu?: number } {
  const command = [process.execPath, bin, ...c.args];
  const started = performance.now();
  const out = spawnSync(
    gnuTime ?? command[0]!,
    gnuTime ? ['-f', `${cpuMarker} %U %S`, ...command] : command.slice(1),
    { env: { ...process.env, LOG_LEVEL: 'warn', ...c.env }, encoding: 'utf8' },
  );
  const wall = (performance.now() - started) / 1000;
  const stderr = out.stderr ?? '';
  // Another checkout may lack a command (--version before it existed): it is timed all the same.
  if (out.status !== 0 && !process.env.BENCH_CLI_ROOT)
    throw new Error(`${c.name} exited ${out.status}: ${stderr}`);
  const cpu = new RegExp(`${cpuMarker} ([\\d.]+) ([\\d.]+)`).exec(stderr);
  return cpu ? { wall, cpu: Number(cpu[1]) + Number(cpu[2]) } : { wall };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const dataDir = mkdtempSync(join(tmpdir(), 'closeloop-bench-cli-'));
const servedDir = mkdtempSync(join(tmpdir(), 'closeloop-bench-cli-served-'));
const pg = await createPostgresDatabaseUrl();
// The quick start: `npm start` owns the data folder, and commands reach it through it. (Another checkout
// from before one owner per folder would open the folder a second time: not measured there.)
const served = process.env.BENCH_CLI_ROOT ? undefined : await startServe({ CLOSELOOP_DATA_DIR: servedDir });
const cases: Case[] = [
  { name: 'closeloop --help', args: ['--help'], env: {}, target: 0.3 },
  { name: 'closeloop --version', args: ['--version'], env: {}, target: 0.3 },
  { name: 'closeloop goals --help', args: ['goals', '--help'], env: {}, target: 0.3 },
  { name: 'closeloop import --help', args: ['import', '--help'], env: {} },
  { name: 'goals list (PostgreSQL)', args: ['goals', 'list'], env: { DATABASE_URL: pg.url }, target: 0.5 },
  ...(served
    ? [
        {
          name: 'goals list (PGlite, serve running)',
          args: ['goals', 'list'],
          env: { CLOSELOOP_DATA_DIR: servedDir },
          target: 0.5,
        },
      ]
    : []),
  { name: 'goals list (PGlite, no service)', args: ['goals', 'list'], env: { CLOSELOOP_DATA_DIR: dataDir } },
];

try {
  // The first open creates the database (PGlite: about 6 s; PostgreSQL: the migrations); not measured.
  for (const c of cases) run(c);
  const load = loadavg()[0]!.toFixed(2);
  console.log(`${runs} runs per case, fresh process each (node ${process.version}); load average ${load}\n`);
  console.log(
    `${'case'.padEnd(34)}  ${'median'.padStart(7)}  ${'min'.padStart(7)}  ${'max'.padStart(7)}  ${'CPU'.padStart(7)}  target`,
  );
  const results: { c: Case; median: number }[] = [];
  for (const c of cases) {
    const times = Array.from({ length: runs }, () => run(c));
    const walls = times.map((t) => t.wall);
    const cpus = times.flatMap((t) => (t.cpu === undefined ? [] : [t.cpu]));
    const m = median(walls);
    results.push({ c, median: m });
    const s = (x: number) => `${x.toFixed(3)} s`.padStart(7);
    const cpu = cpus.length > 0 ? s(median(cpus)) : '-'.padStart(7);
    const target = c.target === undefined ? '-' : `< ${c.target} s ${m < c.target ? 'ok' : 'MISSED'}`;
    console.log(
      `${c.name.padEnd(34)}  ${s(m)}  ${s(Math.min(...walls))}  ${s(Math.max(...walls))}  ${cpu}  ${target}`,
    );
  }
  const held = results.filter((r) => r.c.target !== undefined);
  const missed = held.filter((r) => r.median >= r.c.target!);
  console.log(
    `\n${missed.length === 0 ? 'PASS' : 'FAIL'} bench:cli: ${held
      .map((r) => `${r.c.name} ${r.median.toFixed(3)} s (< ${r.c.target} s)`)
      .join('; ')}; load average ${loadavg()[0]!.toFixed(2)}`,
  );
  process.exitCode = missed.length === 0 ? 0 : 1;
} finally {
  if (served) {
    served.child.kill('SIGTERM');
    await served.exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(servedDir, { recursive: true, force: true });
  await pg.drop();
}
