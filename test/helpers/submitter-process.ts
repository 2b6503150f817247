import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import type { DrainReport } from '../../src/submit/submitter.ts';

/**
 * Submitter processes for the crash test and the submit benchmark: test/bench/submit-worker.ts, which
 * runs the production runtime (openSending, the MSADS_* account, OAuth against the emulator's token
 * endpoint) until nothing is queued or submitting, and prints its report as one JSON line.
 */

const workerFile = new URL('../bench/submit-worker.ts', import.meta.url).pathname;

export interface SubmitterResult {
  pid: number;
  worker: string;
  seconds: number;
  rounds: number;
  /** The worker's drain reports, summed. */
  report: Pick<
    DrainReport,
    'calls' | 'accepted' | 'rejected' | 'retried' | 'failed' | 'throttled' | 'reclaimed'
  >;
  maxRssBytes: number;
  profile: Record<string, { count: number; totalMs: number; avgMs: number; maxMs: number }>;
}

export interface SubmitterExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The report line; undefined when the process died before printing it. */
  result: SubmitterResult | undefined;
  stderr: string;
}

export interface SubmitterProcess {
  child: ChildProcess;
  pid: number;
  exited: Promise<SubmitterExit>;
}

/** The environment of a submitter that sends to an emulator as a Microsoft account (not the dry run). */
export function submitterEnv(input: {
  databaseUrl: string;
  /** The same for every process on one database: the stored tokens are encrypted with it. */
  secretKey: string;
  apiBaseUrl: string;
  tokenUrl: string;
  refreshToken: string;
  customerId: string;
  accountId?: string;
  /** Any other variables (MSADS_CALLS_PER_MINUTE, SUBMIT_*). */
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    DATABASE_URL: input.databaseUrl,
    CLOSELOOP_SECRET_KEY: input.secretKey,
    LOG_LEVEL: 'error',
    MSADS_API_BASE_URL: input.apiBaseUrl,
    MSADS_OAUTH_TOKEN_URL: input.tokenUrl,
    MSADS_CLIENT_ID: 'test-client',
    MSADS_REFRESH_TOKEN: input.refreshToken,
    MSADS_DEVELOPER_TOKEN: 'test-developer-token',
    MSADS_CUSTOMER_ID: input.customerId,
    MSADS_ACCOUNT_ID: input.accountId ?? '2000001',
    ...input.extra,
  };
}

export const newSecretKey = () => randomBytes(32).toString('hex');

/** Start one submitter process (Node 22, the binary running this one). */
export function startSubmitter(env: Record<string, string>): SubmitterProcess {
  // The parent's own configuration must not leak in: only what `env` says counts.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(MSADS_|SUBMIT_|CLOSELOOP_|DATABASE_URL$|LOG_LEVEL$)/.test(k),
    ),
  );
  const child = spawn(process.execPath, [workerFile], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  const exited = new Promise<SubmitterExit>((resolve) =>
    child.on('close', (code, signal) => {
      const line = lines.find((l) => l.startsWith('{"event":"done"'));
      resolve({ code, signal, result: line ? (JSON.parse(line) as SubmitterResult) : undefined, stderr });
    }),
  );
  if (child.pid === undefined) throw new Error(`could not start ${workerFile}`);
  return { child, pid: child.pid, exited };
}

/** Wait for a submitter to finish on its own; fails with its stderr when it did not drain cleanly. */
export async function finished(p: SubmitterProcess): Promise<SubmitterResult> {
  const exit = await p.exited;
  if (exit.code !== 0 || !exit.result)
    throw new Error(
      `submitter ${p.pid} exited with ${exit.code ?? exit.signal}: ${exit.stderr.slice(-2000)}`,
    );
  return exit.result;
}

/** Poll `check` every 5 ms until it holds; throws `what` after `timeoutMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}
