import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/serve.ts';

/**
 * A database that cannot be opened at start: one line that says which database, what failed and what
 * to do (not a stack, not the password), and a non-zero exit.
 */
const dir = mkdtempSync(join(tmpdir(), 'closeloop-startup-'));

function expectOneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /m);
  return lines[0]!;
}

describe('starting with a database that cannot be opened', () => {
  it('PostgreSQL not listening: serve says so in one line and exits 1', async () => {
    const port = await freePort();
    const result = await runCli(['serve'], {
      DATABASE_URL: `postgres://closeloop:s3cret-pw@127.0.0.1:${port}/ledger`,
      CLOSELOOP_SECRET_KEY: 'a'.repeat(64),
    });
    expect(result.code).toBe(1);
    const line = expectOneLine(result.stderr);
    expect(line).toContain(
      `Cannot open the PostgreSQL database closeloop@127.0.0.1:${port}/ledger (DATABASE_URL)`,
    );
    expect(line).toContain('ECONNREFUSED');
    expect(line).toMatch(/Check that PostgreSQL is running/);
    expect(line).not.toContain('s3cret-pw');
  });

  it('a data folder that cannot be created: one line naming the folder', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const result = await runCli(['goals', 'list'], { CLOSELOOP_DATA_DIR: join(file, 'data') });
    expect(result.code).toBe(1);
    const line = expectOneLine(result.stderr);
    expect(line).toContain(`Cannot open the embedded database in ${join(file, 'data')} (CLOSELOOP_DATA_DIR)`);
    expect(line).toContain('ENOTDIR');
  });

  it('a data folder this user cannot write: serve names it, the user, and what to do', async () => {
    const folder = join(dir, 'read-only');
    mkdirSync(folder);
    chmodSync(folder, 0o555);
    chmodSync(dir, 0o755);
    // root writes anywhere: run the command as nobody (uid 65534) then, as a real user would be. It keeps
    // only the right to read and search every folder (CAP_DAC_READ_SEARCH), so that it can load the
    // project from a checkout nobody may not enter (a clone in a 0700 `mktemp -d` folder), but not write.
    const asUser =
      process.getuid?.() === 0
        ? [
            'setpriv',
            '--reuid=65534',
            '--regid=65534',
            '--clear-groups',
            '--inh-caps=+dac_read_search',
            '--ambient-caps=+dac_read_search',
          ]
        : [];
    const result = await runCli(
      ['serve'],
      { CLOSELOOP_DATA_DIR: folder, CLOSELOOP_SECRET_KEY: 'a'.repeat(64) },
      asUser,
    );
    expect(result.code).toBe(1);
    const line = expectOneLine(result.stderr);
    expect(line).toContain(`Cannot open the embedded database in ${folder} (CLOSELOOP_DATA_DIR)`);
    expect(line).toMatch(/is not writable by this user \(uid \d+\) \(EACCES\)/);
    expect(line).toContain('Make the folder writable');
  });
});
