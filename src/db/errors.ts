import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DrizzleQueryError } from 'drizzle-orm';
import { AppError } from '../errors.ts';
import { safeText } from '../log.ts';

/**
 * "The database cannot be reached, or has stopped" told apart from every other error: such a request
 * answers 503 database_unavailable with what to check (not 500 "internal"), and a start-up failure says
 * in one line which database, what failed and what to do.
 */
export interface Unavailability {
  /** What went wrong, in words ("the connection was refused"). */
  reason: string;
  /** The code that says so (ECONNREFUSED, CONNECTION_CLOSED, 57P01, 53100, PANIC …). */
  code: string;
}

/** Socket errors (Node's `code`) of a database connection: the server cannot be reached. */
const connectionReasons: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ENOTFOUND: 'the host name was not found',
  EAI_AGAIN: 'the host name could not be resolved',
  EPIPE: 'the connection was closed',
  // postgres.js's own codes.
  CONNECTION_CLOSED: 'the connection to PostgreSQL was closed',
  CONNECTION_DESTROYED: 'the connection to PostgreSQL was closed',
  CONNECTION_ENDED: 'the connection pool was shut down',
  CONNECT_TIMEOUT: 'PostgreSQL did not answer the connection in time',
  // The PGlite guard's (pglite-guard.ts), while the embedded database is stopped.
  DATABASE_STOPPED: 'the embedded database stopped after a failed write',
};

/** File-system errors, which at start-up mean the data folder cannot be used. */
const folderReasons: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EFBIG: 'a file could not grow (file size limit)',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EIO: 'an input/output error',
};

/** SQLSTATEs of a server that cannot serve now (not of a statement that is wrong). */
function sqlstateReason(code: string): string | undefined {
  if (code.startsWith('08')) return 'the connection to PostgreSQL failed';
  if (code === '53100') return 'the database disk is full';
  if (code === '53200') return 'the database is out of memory';
  if (code === '53300') return 'PostgreSQL has too many connections';
  if (code.startsWith('53')) return 'the database is out of resources';
  if (code === '57P01' || code === '57P02')
    return 'PostgreSQL ended the connection (shut down or terminated)';
  if (code === '57P03') return 'PostgreSQL is starting up or shutting down';
  if (code === '3D000') return 'the database does not exist';
  if (code.startsWith('28')) return 'PostgreSQL refused the login';
  return undefined;
}

/**
 * Why the database is unavailable, if that is what `err` says; undefined for any other error. Causes
 * are followed only through drizzle's DrizzleQueryError (and a connection attempt's AggregateError):
 * an ECONNREFUSED under a failed call to Microsoft is not the database's.
 */
export function unavailability(err: unknown, depth = 0): Unavailability | undefined {
  if (!(err instanceof Error) || depth > 5) return undefined;
  const e = err as Error & { code?: unknown; severity?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  // PANIC stops the server (with PGlite: the whole embedded database); FATAL ends the session.
  if (e.severity === 'PANIC' || e.severity === 'FATAL') {
    const what =
      sqlstateReason(code ?? '') ??
      (e.severity === 'PANIC' ? 'the database stopped' : 'the database ended the session');
    return { reason: `${what}: ${oneLine(safeText(e.message))}`, code: code ?? e.severity };
  }
  if (code && connectionReasons[code]) return { reason: connectionReasons[code]!, code };
  const sqlstate = code && /^[0-9A-Z]{5}$/.test(code) ? sqlstateReason(code) : undefined;
  if (sqlstate) return { reason: sqlstate, code: code! };
  if (/^PGlite is closed/.test(e.message))
    return { reason: 'the embedded database is closed', code: 'CLOSED' };
  if (err instanceof AggregateError)
    for (const inner of err.errors) {
      const found = unavailability(inner, depth + 1);
      if (found) return found;
    }
  if (err instanceof DrizzleQueryError) return unavailability(err.cause, depth + 1);
  return undefined;
}

export type DatabaseKind = 'pglite' | 'postgres';

/** What to check, per kind of database and kind of failure. */
function advice(kind: DatabaseKind, { code }: Unavailability): string {
  const disk = ['ENOSPC', 'EDQUOT', 'EFBIG', '53100'].includes(code);
  if (kind === 'pglite')
    return disk
      ? 'Free space on the disk of the data folder (CLOSELOOP_DATA_DIR); closeloop reopens the database by itself once it can write again.'
      : 'Check the data folder (CLOSELOOP_DATA_DIR): its disk, its permissions, and the server log; closeloop reopens the database by itself when it can.';
  return disk
    ? "Free space on the PostgreSQL server's disk; closeloop goes on by itself once PostgreSQL can write again."
    : 'Check that PostgreSQL (DATABASE_URL) is running and reachable from this machine; closeloop reconnects by itself.';
}

/** The 503 answer for a request that failed because the database is unavailable; undefined otherwise. */
export function databaseUnavailable(err: unknown, kind: DatabaseKind): AppError | undefined {
  const found = unavailability(err);
  if (!found) return undefined;
  return new AppError(
    'database_unavailable',
    `The database is unavailable: ${found.reason} (${found.code}). ${advice(kind, found)} Nothing was half-applied; try again in a moment.`,
  );
}

/** Where the database is, for a message: never the password of a connection string. */
export function describeDatabase(options: OpenOptions): string {
  if (options.kind === 'pglite')
    return options.dataDir
      ? `the embedded database in ${options.dataDir} (CLOSELOOP_DATA_DIR)`
      : 'the in-memory database';
  try {
    const u = new URL(options.url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    return `the PostgreSQL database ${user}${u.host}${u.pathname} (DATABASE_URL)`;
  } catch {
    return 'the PostgreSQL database of DATABASE_URL';
  }
}

type OpenOptions = { kind: 'postgres'; url: string } | { kind: 'pglite'; dataDir?: string };

/**
 * A start-up failure as one line (printed as is by the CLI, which exits 1): which database, what
 * failed, what to do. Errors that already speak to the user (AppError) pass through unchanged.
 */
export function startupFailure(err: unknown, options: OpenOptions): AppError {
  if (err instanceof AppError) return err;
  const { code, syscall, path } = err as { code?: unknown; syscall?: unknown; path?: unknown };
  const found =
    unavailability(err) ??
    (typeof code === 'string' && folderReasons[code]
      ? { reason: `${folderReasons[code]}${typeof path === 'string' ? ` (${syscall} ${path})` : ''}`, code }
      : undefined) ??
    (options.kind === 'pglite' ? folderProblem(options.dataDir) : undefined);
  if (found) return cannotOpen(options, found);
  const message = err instanceof Error ? err.message : String(err);
  return new AppError(
    'database_unavailable',
    `Cannot open ${describeDatabase(options)}: ${oneLine(safeText(message))}. ${
      options.kind === 'pglite'
        ? 'The folder may be damaged, or not a closeloop data folder.'
        : "Check DATABASE_URL and the PostgreSQL server's log."
    }`,
  );
}

function cannotOpen(options: OpenOptions, found: Unavailability): AppError {
  const todo =
    options.kind === 'pglite'
      ? ['ENOSPC', 'EDQUOT', 'EFBIG', '53100'].includes(found.code)
        ? 'Free space on its disk, then start again.'
        : 'Make the folder writable by this user (or set CLOSELOOP_DATA_DIR to one that is), then start again.'
      : found.code === '3D000'
        ? 'Create the database, or correct DATABASE_URL.'
        : found.code.startsWith('28')
          ? 'Check the user and password in DATABASE_URL.'
          : 'Check that PostgreSQL is running and reachable from this machine, and that DATABASE_URL points at it.';
  return new AppError(
    'database_unavailable',
    `Cannot open ${describeDatabase(options)}: ${found.reason} (${found.code}). ${todo}`,
  );
}

/**
 * Refuse a data folder that exists but that this user cannot write, before PGlite spends 10 s failing
 * on it with nothing but "PGlite failed to initialize properly".
 */
export function checkDataFolder(dataDir: string): void {
  const found = folderProblem(dataDir);
  if (found) throw cannotOpen({ kind: 'pglite', dataDir }, found);
}

/**
 * PGlite reports an unwritable data folder only as "PGlite failed to initialize properly": look for the
 * reason in the folder itself.
 */
function folderProblem(dataDir: string | undefined): Unavailability | undefined {
  if (!dataDir) return undefined;
  for (const path of [dataDir, join(dataDir, 'pg_wal'), join(dataDir, 'global', 'pg_control')]) {
    if (!existsSync(path)) continue;
    try {
      accessSync(path, constants.R_OK | constants.W_OK);
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'EACCES';
      const user = process.getuid?.();
      return {
        reason: `${folderReasons[code] ?? 'it cannot be used'}: ${path} is not writable by this user${user === undefined ? '' : ` (uid ${user})`}`,
        code,
      };
    }
  }
  return undefined;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
