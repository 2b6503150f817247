import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnvironment, cliTestTimeoutMs, runCli } from '../helpers/cli.ts';

let env: Record<string, string>;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const db = await cliEnvironment();
  cleanup = db.cleanup;
  env = { CLOSELOOP_SECRET_KEY: 'a'.repeat(64), ...db.env };
});
afterAll(() => cleanup());

describe('closeloop diagnostics', { timeout: cliTestTimeoutMs }, () => {
  it('asks the dry run; a bad --days is a usage error, before any database is opened', async () => {
    const text = await runCli(['diagnostics', '--days', '3'], env);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Microsoft's figures from \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d/);
    expect(text.stdout).toContain("Dry run: these are the built-in emulator's figures");
    expect(text.stdout).toContain('No goal at Microsoft to report on.');

    const bad = await runCli(['diagnostics', '--days', '0'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--days must be a whole number from 1 to 90; got "0"');
  });
});
