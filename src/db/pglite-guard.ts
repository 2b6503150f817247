import { open, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { describeError, type Logger } from '../log.ts';

/**
 * PGlite after a failed write. A full disk (or a file size limit) makes its write-ahead log write fail:
 * PostgreSQL answers PANIC ("could not write to file pg_wal/xlogtemp.42: No space left on device", or
 * EFBIG under RLIMIT_FSIZE) and its WebAssembly engine is then in an undefined state: the *next*
 * statement loops for ever inside one synchronous call, so the process ran at 98% CPU, answered
 * nothing, and never saw SIGTERM, even after space was freed (reproduced on a 48 MB tmpfs and with
 * `prlimit --fsize`). Closing the stopped instance works, and opening the folder again recovers from
 * the write-ahead log what was committed (measured: 0.4–0.5 s).
 *
 * So the guard (1) notices the PANIC (or any failure of the engine itself) before another statement
 * reaches the engine, and from then on fails every statement at once with DATABASE_STOPPED (the HTTP
 * layer answers 503); (2) closes the stopped instance; (3) waits until the data folder can be written
 * again (free space, and a file can grow past a WAL segment) and opens the folder again. Everything
 * holds `client`, which always stands for the instance of the moment.
 *
 * An open that fails keeps about 170 MB of WebAssembly memory that is never released (measured: 5
 * failed opens, 282 → 973 MB RSS), so the folder is checked before each attempt, and after
 * `maxFailedReopens` failed opens the guard stops trying and says to restart.
 */
export interface PgliteGuardOptions {
  /** The data folder; undefined for an in-memory database, which cannot be reopened. */
  dataDir?: string;
  log?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** How often a stopped database checks whether its folder can be written again. @default 2000 */
  retryMs?: number;
  /** Free bytes the folder's disk needs before a reopen is tried. @default 67_108_864 (64 MiB: four WAL segments) */
  minFreeBytes?: number;
  /** Failed reopens after which the guard gives up until the process is restarted. @default 3 */
  maxFailedReopens?: number;
}

export interface GuardedPglite {
  /** Stands for the PGlite instance of the moment; drizzle and everything else hold this one. */
  client: PGlite;
  close(): Promise<void>;
}

/** Every statement while the embedded database is stopped fails with this error, at once. */
export class DatabaseStoppedError extends Error {
  override name = 'DatabaseStoppedError';
  readonly code = 'DATABASE_STOPPED';
}

const walSegmentBytes = 16 * 1024 * 1024;
/** Methods that run statements: while stopped they fail instead of reaching a closed or broken engine. */
const statementMethods = new Set([
  'query',
  'sql',
  'exec',
  'transaction',
  'describeQuery',
  'execProtocol',
  'execProtocolStream',
  'execProtocolRaw',
  'execProtocolRawStream',
  'runExclusive',
  'listen',
  'unlisten',
  'dumpDataDir',
]);

export async function guardPglite(
  openInstance: () => Promise<PGlite>,
  options: PgliteGuardOptions = {},
): Promise<GuardedPglite> {
  const { dataDir, log, retryMs = 2000, minFreeBytes = 64 * 1024 * 1024, maxFailedReopens = 3 } = options;
  let current = await openInstance();
  let stoppedBy: DatabaseStoppedError | undefined;
  let closed = false;
  let wake: (() => void) | undefined;
  let recovering: Promise<void> | undefined;

  /** Stop the database: `instance` is never entered again, and the folder is reopened when it can be. */
  const stop = (instance: PGlite, cause: unknown): DatabaseStoppedError => {
    const what = cause instanceof Error ? cause.message : String(cause);
    const error = new DatabaseStoppedError(
      `The embedded database stopped after a failed write (${what}); closeloop reopens it when its data folder can be written again.`,
      { cause },
    );
    if (stoppedBy || instance !== current) return error;
    stoppedBy = error;
    log?.error(
      'the embedded database stopped after a failed write; requests answer 503 until it is reopened',
      {
        dataDir,
        cause: describeError(cause, { stack: false }),
      },
    );
    // After the failed statement has unwound (its ROLLBACK and Sync fail at once, see guard()).
    recovering = new Promise((resolve) => setImmediate(resolve)).then(() => recover(instance));
    return error;
  };

  const guard = (instance: PGlite): PGlite => {
    let dead: DatabaseStoppedError | undefined;
    const engine = instance as PGlite & Record<string, (...args: never[]) => unknown>;
    const rawSync = engine.execProtocolRawSync!.bind(instance) as (message: Uint8Array) => Uint8Array;
    // Every statement enters the engine here; after a PANIC this instance is never entered again.
    engine.execProtocolRawSync = ((message: Uint8Array) => {
      if (dead) {
        // 'X' (Terminate) is answered without entering the engine: close() still sends it.
        if (message[0] === 88) return new Uint8Array(0);
        throw dead;
      }
      try {
        return rawSync(message);
      } catch (err) {
        dead = stop(instance, err);
        throw err;
      }
    }) as never;
    // PostgreSQL's answer is parsed after the engine returns; a PANIC or FATAL in it stops the instance
    // before the statement's promise settles, so no other statement gets in between (PGlite runs one
    // at a time, and the next waits until this one has unwound).
    for (const name of ['execProtocol', 'execProtocolStream'] as const) {
      const original = engine[name]!.bind(instance) as (...args: unknown[]) => Promise<unknown>;
      engine[name] = (async (...args: unknown[]) => {
        try {
          return await original(...args);
        } catch (err) {
          const severity = (err as { severity?: unknown }).severity;
          if (!dead && (severity === 'PANIC' || severity === 'FATAL')) dead = stop(instance, err);
          throw err;
        }
      }) as never;
    }
    return instance;
  };

  async function recover(broken: PGlite) {
    await settle(broken.close(), 5000);
    if (!dataDir) {
      log?.error('the in-memory database stopped and cannot be reopened; restart closeloop');
      return;
    }
    let failures = 0;
    let waitingFor: string | undefined;
    while (!closed) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, retryMs).unref();
      });
      if (closed) return;
      const blocked = await whyNotWritable(dataDir, minFreeBytes);
      if (blocked) {
        if (blocked !== waitingFor)
          log?.warn('the embedded database waits for its data folder', { dataDir, blocked });
        waitingFor = blocked;
        continue;
      }
      try {
        const started = Date.now();
        const next = await openInstance();
        if (closed) {
          await settle(next.close(), 5000);
          return;
        }
        current = guard(next);
        stoppedBy = undefined;
        log?.info('the embedded database was reopened; what was committed before it stopped is kept', {
          dataDir,
          reopenMs: Date.now() - started,
        });
        return;
      } catch (err) {
        failures++;
        log?.error('reopening the embedded database failed', {
          dataDir,
          attempt: failures,
          cause: describeError(err, { stack: false }),
        });
        if (failures >= maxFailedReopens) {
          log?.error(
            `the embedded database could not be reopened after ${failures} attempts; fix the data folder, then restart closeloop`,
            { dataDir },
          );
          return;
        }
      }
    }
  }

  guard(current);
  const close = async () => {
    if (closed) return;
    closed = true;
    wake?.();
    await recovering;
    if (!current.closed) await current.close();
  };
  const client = new Proxy(current, {
    get(_, prop) {
      if (prop === 'close') return close;
      if (stoppedBy && typeof prop === 'string') {
        const error = stoppedBy;
        if (prop === 'execProtocolRawSync')
          return () => {
            throw error;
          };
        if (statementMethods.has(prop)) return () => Promise.reject(error);
      }
      const value = Reflect.get(current, prop, current);
      return typeof value === 'function' ? value.bind(current) : value;
    },
    has: (_, prop) => Reflect.has(current, prop),
    getPrototypeOf: () => Reflect.getPrototypeOf(current),
  });
  return { client, close };
}

/** Why a reopen would fail now, or undefined: the disk has room, and a file can grow past a WAL segment. */
async function whyNotWritable(dataDir: string, minFreeBytes: number): Promise<string | undefined> {
  try {
    const fs = await statfs(dataDir);
    const free = fs.bavail * fs.bsize;
    if (free < minFreeBytes)
      return `${Math.floor(free / 1048576)} MB free on its disk; ${Math.ceil(minFreeBytes / 1048576)} MB needed`;
    // One byte written past two WAL segments' length (a sparse file: no real space used) fails with
    // EFBIG under a file size limit and EROFS/EACCES on a folder that cannot be written.
    const probe = join(dataDir, '.closeloop-write-probe');
    try {
      const file = await open(probe, 'w');
      try {
        await file.write(new Uint8Array(1), 0, 1, 2 * walSegmentBytes);
      } finally {
        await file.close();
      }
    } finally {
      await unlink(probe).catch(() => {});
    }
    return undefined;
  } catch (err) {
    return `it cannot be written: ${(err as Error).message}`;
  }
}

/** Wait for a promise at most `ms`, whatever it does. */
async function settle(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
