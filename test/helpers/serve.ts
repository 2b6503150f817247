import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const main = join(import.meta.dirname, '../../src/cli/main.ts');

export interface RunningServe {
  /** http://127.0.0.1:PORT */
  base: string;
  child: ChildProcess;
  /** Everything the process wrote on stderr so far (its JSON log lines). */
  log(): string;
  /** Resolves with the exit code once the process has exited (null when killed by a signal). */
  exited: Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * `closeloop serve` in a process of its own (optionally under a wrapper such as `prlimit …`), once it
 * listens. Its database comes from `env` (DATABASE_URL or CLOSELOOP_DATA_DIR).
 */
export async function startServe(env: Record<string, string>, wrapper: string[] = []): Promise<RunningServe> {
  const port = await freePort();
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !['DATABASE_URL', 'CLOSELOOP_DATA_DIR', 'PORT'].includes(k)),
  );
  const command = [...wrapper, process.execPath, main, 'serve'];
  const child = spawn(command[0]!, command.slice(1), {
    env: { ...clean, LOG_LEVEL: 'info', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (d) => {
    log += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!log.includes('closeloop is listening')) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`closeloop serve did not start; its output:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { base: `http://127.0.0.1:${port}`, child, log: () => log, exited };
}
