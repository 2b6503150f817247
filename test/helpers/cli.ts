import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/db/client.ts';
import { createPostgresDatabaseUrl, testDbKind } from './db.ts';
import { ensurePgliteTemplate } from './pglite-template.ts';

const main = join(import.meta.dirname, '../../src/cli/main.ts');

/**
 * Tests that start real CLI and serve processes: each process opens its database (PGlite: about 1 s on a
 * quiet machine, 3–5 s while the suite's other worker starts its own), so a test of four commands spent
 * 30–37 s in CI on PGlite where the same test on PostgreSQL took 8 s. A hung process still fails the test.
 */
export const cliTestTimeoutMs = 120_000;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a CLI under test: its own PGlite data folder, or its own PostgreSQL database,
 * depending on the test project. The PGlite folder holds the migrated template already (loaded in this
 * process in under a second), so that the first command does not spend 3–4 s in initdb; `fresh: true`
 * leaves it empty, for tests of what the first start does.
 */
export async function cliEnvironment({ fresh = false }: { fresh?: boolean } = {}): Promise<{
  env: Record<string, string>;
  cleanup: () => Promise<void>;
}> {
  if (testDbKind() === 'postgres') {
    const { url, drop } = await createPostgresDatabaseUrl();
    return { env: { DATABASE_URL: url }, cleanup: drop };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'closeloop-cli-'));
  if (!fresh) {
    const template = new Blob([readFileSync(await ensurePgliteTemplate())]);
    const database = await openDatabase({ kind: 'pglite', dataDir, loadDataDir: template });
    await database.close();
  }
  return { env: { CLOSELOOP_DATA_DIR: dataDir }, cleanup: async () => {} };
}

/** `wrapper` runs the CLI through another command (e.g. `setpriv …` to run it as another user). */
export function startCli(args: string[], env: Record<string, string>, wrapper: string[] = []): ChildProcess {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !['DATABASE_URL', 'CLOSELOOP_DATA_DIR', 'PORT'].includes(k)),
  );
  const command = [...wrapper, process.execPath, main, ...args];
  return spawn(command[0]!, command.slice(1), {
    env: { ...clean, LOG_LEVEL: 'warn', ...env },
    stdio: 'pipe',
  });
}

export function runCli(
  args: string[],
  env: Record<string, string>,
  wrapper: string[] = [],
): Promise<CliResult> {
  const child = startCli(args, env, wrapper);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}
