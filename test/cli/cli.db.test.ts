import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnvironment, cliTestTimeoutMs, runCli } from '../helpers/cli.ts';

let env: Record<string, string>;
let cleanup: () => Promise<void>;
const dir = mkdtempSync(join(tmpdir(), 'closeloop-cli-files-'));
const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);

beforeAll(async () => {
  ({ env, cleanup } = await cliEnvironment());
});
afterAll(() => cleanup());

function file(name: string, text: string) {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('closeloop CLI', { timeout: cliTestTimeoutMs }, () => {
  it(
    'manages goals and keys',
    async () => {
      const added = await runCli(
        ['goals', 'add', '--name', 'Purchase', '--value', '10', '--currency', 'USD', '--window', '30d'],
        env,
      );
      expect(added.stderr).toBe('');
      expect(added.code).toBe(0);
      expect(added.stdout).toContain('Created goal "Purchase"');
      const dup = await runCli(['goals', 'add', '--name', 'Purchase'], env);
      expect(dup.code).toBe(1);
      expect(dup.stderr).toContain('already exists');
      const list = await runCli(['goals', 'list', '--json'], env);
      expect(JSON.parse(list.stdout)[0]).toMatchObject({ name: 'Purchase', conversionWindowMinutes: 43_200 });
      const key = await runCli(['keys', 'create', '--name', 'ci'], env);
      expect(key.code).toBe(0);
      expect(key.stdout.trim()).toMatch(/^cl_[\w-]{43}$/);
      expect(key.stderr).toContain('shown only now');
    },
    cliTestTimeoutMs,
  );

  it(
    'imports with --preview --json: one object per row, a summary, exit 1 when rows are rejected',
    async () => {
      const csv = file(
        'june.csv',
        [
          'Microsoft Click Id,Conversion Name,Conversion Time,Conversion Value',
          `${'a'.repeat(32)},Purchase,${day(3)} 10:00:00,5`,
          `${'b'.repeat(32)},Purchase,${day(3)} 25:00:00,5`,
        ].join('\n'),
      );
      const preview = await runCli(['import', csv, '--preview', '--json'], env);
      expect(preview.code).toBe(1);
      const lines = preview.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatchObject({
        row: 2,
        status: 'held',
        conversionTimeUtc: `${day(3)}T10:00:00Z`,
        errorCode: null,
      });
      expect(lines[1]).toMatchObject({ row: 3, status: 'rejected', errorCode: 'INVALID_DATE' });
      expect(lines[1].message).toMatch(/^Row 3, column C "Conversion Time"/);
      expect(lines[2]).toMatchObject({
        summary: true,
        status: 'previewed',
        totalRows: 2,
        counts: { held: 1, rejected: 1 },
      });

      const applied = await runCli(['import', csv], env);
      expect(applied.code).toBe(1);
      expect(applied.stdout).toMatch(
        /Imported 2 rows from june\.csv: .*1 held.*1 rejected|Imported 2 rows from june\.csv: .*1 rejected.*1 held/,
      );
      expect(applied.stderr).toContain('INVALID_DATE');
      const id = /Upload ([0-9a-f-]{36})/.exec(applied.stdout)![1]!;
      const results = await runCli(['results', id, '--errors-only'], env);
      expect(results.code).toBe(0);
      expect(results.stdout.trim().split('\r\n')).toHaveLength(2);
    },
    cliTestTimeoutMs,
  );

  it(
    'refuses a file with a missing column with exit 2 and the reason',
    async () => {
      const bad = await runCli(['import', file('bad.csv', 'Conversion Name,Conversion Value\nx,1\n')], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('Conversion Time');
      const missing = await runCli(['import', join(dir, 'nope.csv')], env);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('no such file');
    },
    cliTestTimeoutMs,
  );

  it(
    'explains usage and bad configuration',
    async () => {
      const help = await runCli(['import', '--help'], env);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('--adjustments');
      const unknown = await runCli(['frobnicate'], env);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('Unknown command "frobnicate"');
      const badOption = await runCli(['import', 'x.csv', '--nope'], env);
      expect(badOption.code).toBe(2);
      expect(badOption.stderr).toContain('Unknown option --nope for "closeloop import".');
      expect(badOption.stderr).toContain('Usage: closeloop import FILE');
      const badEnv = await runCli(['goals', 'list'], { ...env, PORT: 'eighty' });
      expect(badEnv.code).toBe(2);
      expect(badEnv.stderr).toContain('PORT');
    },
    cliTestTimeoutMs,
  );
});
