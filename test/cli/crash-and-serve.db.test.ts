import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeConversionsCsv } from '../bench/generate.ts';
import { cliEnvironment, cliTestTimeoutMs, runCli, startCli } from '../helpers/cli.ts';
import { exited, freePort, waitForOutput } from '../helpers/processes.ts';

let env: Record<string, string>;
let cleanup: () => Promise<void>;
const dir = mkdtempSync(join(tmpdir(), 'closeloop-crash-'));

beforeAll(async () => {
  ({ env, cleanup } = await cliEnvironment());
  await runCli(['goals', 'add', '--name', 'Purchase'], env);
});
afterAll(() => cleanup());

describe('crash safety', { timeout: cliTestTimeoutMs }, () => {
  it('a kill -9 during an import loses nothing that was committed, and the database opens again', async () => {
    const small = join(dir, 'small.csv');
    await writeConversionsCsv(small, 50, new Date());
    const first = await runCli(['import', small], env);
    expect(first.code).toBe(0);
    const firstId = /Upload ([0-9a-f-]{36})/.exec(first.stdout)![1]!;

    const big = join(dir, 'big.csv');
    await writeConversionsCsv(big, 60_000, new Date());
    const child = startCli(['import', big, '--progress'], env);
    await waitForOutput(child, /5,000 rows/);
    child.kill('SIGKILL');
    expect(await exited(child)).toBe(null);

    // The database opens again and everything committed before the kill is there.
    const results = await runCli(['results', firstId], env);
    expect(results.code).toBe(0);
    const lines = results.stdout.trim().split('\r\n').slice(1);
    expect(lines).toHaveLength(50);
    expect(lines.every((l) => l.split(',')[1] === 'held')).toBe(true);
    // And the interrupted file can simply be imported again.
    const again = await runCli(['import', big], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Imported 60,000 rows');
  }, 240_000);

  /** The upload's rows in the results (CSV): their status and the ledger row each became, if any. */
  async function resultRows(id: string) {
    const results = await runCli(['results', id], env);
    expect(results.code).toBe(0);
    const [header, ...lines] = results.stdout.trim().split('\r\n');
    // By name: the results gained columns after Ledger Id (accepted-at, TrackingId).
    const column = (name: string) => header!.split(',').indexOf(name);
    const status = column('Status');
    const ledgerId = column('Ledger Id');
    return lines.map((line) => {
      const cells = line.split(',');
      return { status: cells[status], ledgerId: cells[ledgerId] };
    });
  }

  // The kill lands where the test says (CLOSELOOP_PAUSE_AT, see src/pause-point.ts), so each outcome is
  // seen every time: a kill inside the transaction, every row written, leaves none of the upload in the
  // ledger; a kill after the commit, before the process could close the database, leaves all of it.
  it.each([
    ['before', 'none', 'apply:before-commit'],
    ['after', 'all', 'apply:after-commit'],
  ] as const)(
    'a kill -9 during apply, %s its commit, leaves %s of the upload in the ledger',
    async (_when, left, point) => {
      const rows = 2000;
      const file = join(dir, `apply-${point.replace(':', '-')}.csv`);
      await writeConversionsCsv(file, rows, new Date(Date.now() - 86_400_000));
      const preview = await runCli(['import', file, '--preview'], env);
      const id = /Upload ([0-9a-f-]{36})/.exec(preview.stdout)![1]!;

      const child = startCli(['apply', id], { ...env, CLOSELOOP_PAUSE_AT: point });
      await waitForOutput(child, new RegExp(`paused at ${point}`));
      child.kill('SIGKILL');
      expect(await exited(child)).toBe(null);
      expect(child.signalCode).toBe('SIGKILL');

      const afterKill = await resultRows(id);
      expect(afterKill).toHaveLength(rows);
      if (left === 'none') {
        expect(afterKill.filter((r) => r.ledgerId !== '')).toEqual([]);
        // Nothing of it committed: the upload can be applied, whole.
        const retry = await runCli(['apply', id], env);
        expect(retry.code).toBe(0);
        expect(retry.stdout).toContain(`${rows} held`);
      } else {
        expect(afterKill.filter((r) => r.ledgerId === '' || r.status !== 'held')).toEqual([]);
        const retry = await runCli(['apply', id], env);
        expect(retry.code).not.toBe(0);
        expect(retry.stderr).toContain('already applied');
      }
      const final = await resultRows(id);
      expect(new Set(final.map((r) => r.status))).toEqual(new Set(['held']));
      expect(new Set(final.map((r) => r.ledgerId)).size).toBe(rows);
    },
    240_000,
  );
});

describe('closeloop serve', { timeout: cliTestTimeoutMs }, () => {
  it('serves, then stops cleanly on SIGTERM and starts again on the same data', async () => {
    for (let round = 0; round < 2; round++) {
      const port = await freePort();
      const child = startCli(['serve'], { ...env, PORT: String(port), LOG_LEVEL: 'info' });
      const log = await waitForOutput(child, /closeloop is listening[\s\S]*dry run/);
      expect(log).toContain('"dryRun":true');
      const health = await (await fetch(`http://127.0.0.1:${port}/health`)).json();
      expect(health).toMatchObject({ ok: true, dryRun: true });
      child.kill('SIGTERM');
      expect(await exited(child)).toBe(0);
    }
  }, 120_000);
});
