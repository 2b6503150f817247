import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnvironment, cliTestTimeoutMs, runCli } from '../helpers/cli.ts';

let env: Record<string, string>;
let cleanup: () => Promise<void>;
const dir = mkdtempSync(join(tmpdir(), 'closeloop-queue-'));

/** `yyyy-MM-dd HH:mm:ss` (UTC) `ms` ago, as a file cell. */
const ago = (ms: number) => new Date(Date.now() - ms).toISOString().slice(0, 19).replace('T', ' ');

beforeAll(async () => {
  ({ env, cleanup } = await cliEnvironment());
});
afterAll(() => cleanup());

describe('the queue from the command line (dry run)', { timeout: cliTestTimeoutMs }, () => {
  it('shows what waits and why, sends at once in the dry run, and lists uploads a page at a time', async () => {
    const empty = await runCli(['submit', '--once'], env);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toContain('[dry run] 0 calls: nothing is waiting.');

    const goal = await runCli(['goals', 'add', '--name', 'Purchase'], env);
    expect(goal.stdout).toContain('Dry run: the submitter');
    expect(goal.stdout).toContain('takes conversions for it at once');

    // Two sales an hour ago, and one whose click was 10 minutes ago: Microsoft takes that one an hour
    // after the click.
    const clickAt = ago(10 * 60_000);
    const file = join(dir, 'conversions.csv');
    writeFileSync(
      file,
      'Microsoft Click Id,Conversion Name,Conversion Time,Click Time\n' +
        `${'a'.repeat(32)},Purchase,${ago(3600_000)},\n` +
        `${'b'.repeat(32)},Purchase,${ago(3600_000)},\n` +
        `${'c'.repeat(32)},Purchase,${ago(5 * 60_000)},${clickAt}\n`,
    );
    expect((await runCli(['import', file], env)).code).toBe(0);

    const before = JSON.parse((await runCli(['status', '--json'], env)).stdout);
    expect(before).toMatchObject({
      dryRun: true,
      target: 'emulator',
      database: { kind: expect.any(String) },
    });
    if (before.database.kind === 'pglite') expect(before.database.dataDir).toBe(env.CLOSELOOP_DATA_DIR);
    expect(JSON.stringify(before)).not.toContain(':postgres@');

    const sent = await runCli(['submit', '--once'], env);
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^\[dry run\] 1 call in .*: 2 accepted/);
    const release = new Date(`${clickAt.replace(' ', 'T')}Z`).getTime() + 3600_000;
    const hhmm = new Date(release).toISOString().slice(11, 16);
    const idle = await runCli(['submit', '--once'], env);
    expect(idle.stdout).toContain(
      `[dry run] 0 calls: 1 row held until ${hhmm} UTC (click under 1 hour old).`,
    );

    const status = await runCli(['status'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('Target    dry run: the built-in emulator (nothing reaches Microsoft)');
    expect(status.stdout).toMatch(/Account "Dry run \(built-in emulator\)" \(dry run, default\)/);
    expect(status.stdout).toMatch(
      /last call {4}\S+ conversions ×2: accepted \(2 accepted, 0 rejected, 0 to retry\) TrackingId [0-9a-f-]{36}/,
    );
    expect(status.stdout).toContain('    conversions  1 held, 2 accepted');
    expect(status.stdout).toContain(`    held         1 until ${hhmm} UTC (click under 1 hour old)`);
    expect(status.stdout).toContain(`Queue: 1 row held until ${hhmm} UTC (click under 1 hour old).`);

    // A second import, then the list: newest first, a page of one, and the way to the next page.
    expect((await runCli(['import', file], env)).code).toBe(0);
    const first = await runCli(['uploads', '--limit', '1'], env);
    expect(first.code).toBe(0);
    const lines = first.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /FILE {2}conversions {2}applied +3 duplicate {2}conversions\.csv {2}[0-9a-f-]{36}$/,
    );
    const next = /^More: closeloop uploads --before ([0-9a-f-]{36})$/.exec(lines[1]!)?.[1];
    expect(next).toBeDefined();
    const second = JSON.parse((await runCli(['uploads', '--before', next!, '--json'], env)).stdout);
    expect(second.next).toBe(null);
    expect(second.uploads).toHaveLength(1);
    // Held when imported (the goal was not at the emulator yet); accepted since, but for the young click.
    expect(second.uploads[0]).toMatchObject({
      source: 'file',
      kind: 'conversions',
      counts: { held: 3 },
      rowStates: { accepted: 2, held: 1 },
    });
    const bad = await runCli(['uploads', '--limit', 'lots'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--limit must be a whole number from 1 to 1000; got "lots".');
  }, 180_000);
});
