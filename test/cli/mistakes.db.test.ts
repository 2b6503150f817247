import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnvironment, cliTestTimeoutMs, runCli } from '../helpers/cli.ts';

/** Common mistakes, each caught with the fix, as a user meets them on the command line. */
let env: Record<string, string>;
let cleanup: () => Promise<void>;
const dir = mkdtempSync(join(tmpdir(), 'closeloop-cli-mistakes-'));
const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
const click = (c: string) => c.repeat(32);

function file(name: string, lines: string[]) {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

beforeAll(async () => {
  ({ env, cleanup } = await cliEnvironment());
  const added = await runCli(
    ['goals', 'add', '--name', 'Purchase', '--value', '49.90', '--currency', 'USD', '--window', '12h'],
    env,
  );
  expect(added.code, added.stderr).toBe(0);
}, cliTestTimeoutMs);
afterAll(() => cleanup());

describe('mistakes caught with the fix', { timeout: cliTestTimeoutMs }, () => {
  it(
    'goals: another case is refused; the list shows values and windows as people write them',
    async () => {
      const again = await runCli(['goals', 'add', '--name', 'purchase'], env);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('Microsoft treats goal names that differ only in case as the same goal');
      const list = await runCli(['goals', 'list'], env);
      expect(list.stdout).toMatch(
        /^● Purchase {2}\[variable 49\.90 USD; count all; window 12 hours; account\] {2}/,
      );
    },
    cliTestTimeoutMs,
  );

  it(
    'a file: did you mean, the Microsoft name of a Windows zone, a dropped fraction noted',
    async () => {
      const csv = file('mixed.csv', [
        'Microsoft Click Id,Conversion Name,Conversion Time,Conversion Value,Conversion Currency',
        `${click('a')},Purchase,${day(2)} 13:00:00.5,129.90,USD`,
        `${click('b')},purchase,${day(2)} 14:00:00,45,USD`,
        `${click('c')},Purchase,${day(2)} 15:00:00 Eastern Standard Time,45,USD`,
      ]);
      const result = await runCli(['import', csv], env);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('Imported 3 rows from mixed.csv: 1 held, 2 rejected.');
      expect(result.stderr).toContain(
        'no offline conversion goal is named "purchase"; did you mean "Purchase"?',
      );
      expect(result.stderr).toContain(
        "It is a Windows time zone name (America/New_York); write Microsoft's name for that zone: EasternTimeUSCanada.",
      );
      expect(result.stderr).toMatch(
        /^ {2}note {6}Row 2: "[\d-]+ 13:00:00\.5" has a fraction of a second \(\.5\), which was dropped: Microsoft takes whole seconds, so 13:00:00 is used/m,
      );
      const id = /Upload ([0-9a-f-]{36})/.exec(result.stdout)![1]!;
      const results = await runCli(['results', id], env);
      expect(results.stdout.split('\r\n')[1]).toMatch(/,129\.90,USD,/);
    },
    cliTestTimeoutMs,
  );

  it(
    'an adjustments file is read as one (and said so); a conversions file with --adjustments is refused',
    async () => {
      const adjustments = file('restate.csv', [
        'Microsoft Click Id,Conversion Name,Conversion Time,Adjustment Type,Adjustment Time,Adjustment Value',
        `${click('a')},Purchase,${day(2)} 13:00:00,Restate,${day(1)} 09:00:00,99.90`,
      ]);
      const detected = await runCli(['import', adjustments], env);
      expect(detected.code, detected.stderr).toBe(0);
      expect(detected.stdout).toContain(
        'restate.csv is an adjustments file (its header has Adjustment Type / Adjustment Time columns): its rows were read as Restate / Retract adjustments.',
      );
      expect(detected.stdout).toContain('Imported 1 row from restate.csv: 1 held.');
      expect(detected.stdout).not.toContain('duplicate');

      const conversions = file('one.csv', [
        'Microsoft Click Id,Conversion Name,Conversion Time',
        `${click('d')},Purchase,${day(2)} 16:00:00`,
      ]);
      const refused = await runCli(['import', conversions, '--adjustments'], env);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('one.csv: This is a conversions file');
      expect(refused.stderr).toContain('Import it as conversions (without --adjustments');
    },
    cliTestTimeoutMs,
  );
});
