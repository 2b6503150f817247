import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresDatabaseUrl, testDbKind } from './db.ts';

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
 * depending on the test project.
 */
export async function cliEnvironment(): Promise<{
  env: Record<string, string>;
  cleanup: () => Promise<void>;
}> {
  if (testDbKind() === 'postgres') {
    const { url, drop } = await createPostgresDatabaseUrl();
    return { env: { DATABASE_URL: url }, cleanup: drop };
  }
  return {
    env: { CLOSELOOP_DATA_DIR: mkdtempSync(join(tmpdir(), 'closeloop-cli-')) },
    cleanup: async () => {},
  };
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
