import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cliTestTimeoutMs } from '../helpers/cli.ts';

const main = join(import.meta.dirname, '../../src/cli/main.ts');
const run = promisify(execFile);

/** closeloop run from `cwd` with a home of its own and nothing of closeloop in its environment. */
async function closeloop(args: string[], cwd: string, env: Record<string, string>) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith('CLOSELOOP_') && !['DATABASE_URL', 'PORT'].includes(k),
    ),
  );
  try {
    const { stdout, stderr } = await run(process.execPath, [main, ...args], {
      cwd,
      env: { ...clean, LOG_LEVEL: 'warn', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the data folder and configuration file, as a command sees them', () => {
  it('status outside a checkout names the user data folder and its .env, never a secret from it', {
    timeout: cliTestTimeoutMs,
  }, async () => {
    const home = mkdtempSync(join(tmpdir(), 'closeloop-user-'));
    const xdg = join(home, 'xdg');
    const dataDir = join(xdg, 'closeloop');
    mkdirSync(dataDir, { recursive: true });
    const secret = 'client-secret-that-must-not-show';
    writeFileSync(join(dataDir, '.env'), `CLOSELOOP_CUSTOMER_ID=acme\nMSADS_CLIENT_SECRET=${secret}\n`);
    const elsewhere = join(home, 'somewhere');
    mkdirSync(elsewhere);
    const { code, stdout, stderr } = await closeloop(['status'], elsewhere, {
      HOME: home,
      XDG_DATA_HOME: xdg,
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`Data      ${dataDir} (user data folder)`);
    expect(stdout).toContain(`Config    ${join(dataDir, '.env')} (the environment wins over it)`);
    expect(stdout).toContain(`Database  PGlite in ${dataDir}`);
    expect(stdout + stderr).not.toContain(secret);
  });

  it('--config FILE on any command: a bad value names the file and the key, exit 2', async () => {
    const home = mkdtempSync(join(tmpdir(), 'closeloop-user-'));
    const file = join(home, 'closeloop.config.json');
    writeFileSync(file, JSON.stringify({ PORT: 'eighty', MSADS_DEVELOPER_TOKEN: 'dev-token-secret' }));
    for (const args of [
      ['status', '--config', file],
      ['--config=closeloop.config.json', 'goals', 'list'],
    ]) {
      const { code, stderr } = await closeloop(args, home, { HOME: home });
      expect(code).toBe(2);
      expect(stderr).toContain(`PORT (in ${file}): `);
      expect(stderr).toContain('(got "eighty")');
      expect(stderr).not.toContain('dev-token-secret');
    }
    const { code, stderr } = await closeloop(['status', '--config'], home, { HOME: home });
    expect(code).toBe(2);
    expect(stderr).toContain('Option --config needs a file');
  });
});
