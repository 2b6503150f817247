import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/db/client.ts';
import { type CliResult, startCli } from './cli.ts';
import { ensurePgliteTemplate } from './pglite-template.ts';

type Child = ReturnType<typeof startCli>;

const children = new Set<Child>();

/** `startCli`, remembered so that `killLeftovers` can end it if a failing test leaves it running. */
export function spawnCli(args: string[], env: Record<string, string>): Child {
  const child = startCli(args, env);
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** `runCli` over `spawnCli`. */
export function runTracked(args: string[], env: Record<string, string>): Promise<CliResult> {
  const child = spawnCli(args, env);
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

/** After each test: no process of it outlives it (a stopped one is woken to die). */
export function killLeftovers(): void {
  for (const child of children) {
    child.kill('SIGKILL');
    child.kill('SIGCONT');
  }
  children.clear();
}

/** A new PGlite data folder, migrated: loaded from the template (~1 s) instead of initdb (~6 s). */
export async function seededDataFolder(prefix = 'closeloop-owner-'): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), prefix)), 'data');
  const template = await ensurePgliteTemplate();
  const database = await openDatabase({
    kind: 'pglite',
    dataDir: dir,
    loadDataDir: new Blob([readFileSync(template)]),
  });
  await database.close();
  return dir;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Resolves with everything the child wrote (stdout and stderr) once `pattern` appears in it. */
export function waitForOutput(child: Child, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}; output so far:\n${seen}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      seen += d;
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve(seen);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', () => {
      clearTimeout(timer);
      if (!pattern.test(seen)) reject(new Error(`exited before ${pattern}; output:\n${seen}`));
    });
  });
}

/** Resolves with the exit code (null when killed by a signal), also when the child has already exited. */
export function exited(child: Child): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.on('exit', (code) => resolve(code));
  });
}

export interface RunningServe {
  child: Child;
  url: string;
  /** Everything it logged so far. */
  log(): string;
  /** GET or POST an /api/v1 path with a key; the status and the JSON body. */
  api(path: string, key: string, init?: RequestInit): Promise<{ status: number; body: unknown }>;
}

/** `closeloop serve` on a free port, once it listens. */
export async function startServe(env: Record<string, string>): Promise<RunningServe> {
  const port = await freePort();
  const child = spawnCli(['serve'], { ...env, PORT: String(port), LOG_LEVEL: 'info' });
  let log = '';
  child.stderr?.on('data', (d) => {
    log += d;
  });
  await waitForOutput(child, /closeloop is listening/);
  const url = `http://127.0.0.1:${port}`;
  return {
    child,
    url,
    log: () => log,
    async api(path, key, init = {}) {
      const res = await fetch(`${url}/api/v1${path}`, {
        ...init,
        headers: { authorization: `Bearer ${key}`, ...init.headers },
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
  };
}
