import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { type SQL, sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import type { Logger } from '../log.ts';
import { openEmbedded, type SharingOptions } from './embedded.ts';
import { checkDataFolder, startupFailure } from './errors.ts';
import { guardPglite } from './pglite-guard.ts';
import * as schema from './schema/index.ts';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** PGlite reached through the process that owns its data folder; unset when this process opened it. */
  owner?: { pid: number; command: string };
  /** Run a raw, parameterised statement and get its rows as plain objects. */
  query<T extends Record<string, unknown>>(statement: SQL): Promise<T[]>;
  close(): Promise<void>;
}

export const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));

export type DatabaseOptions =
  | { kind: 'postgres'; url: string; max?: number }
  | {
      kind: 'pglite';
      dataDir?: string;
      loadDataDir?: Blob;
      /** Where the embedded database says that it stopped after a failed write, and was reopened. */
      log?: Pick<Logger, 'info' | 'warn' | 'error'>;
      /** How this process shares the data folder with other closeloop processes (embedded.ts). */
      sharing?: SharingOptions;
    };

/**
 * Open the database and bring its schema up to date. PostgreSQL when a URL is given; otherwise PGlite,
 * in `dataDir` (created if needed) or in memory. Several processes may start at once against one
 * PostgreSQL: migrations run under an advisory lock so exactly one applies them. A PGlite data folder
 * has one owner process, which migrates it and serves it to the others (embedded.ts). A database that
 * cannot be opened throws an AppError whose message says in one line which, why and what to do.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  try {
    if (options.kind === 'postgres') return await openPostgres(options.url, options.max ?? 10);
    if (options.dataDir) checkDataFolder(options.dataDir);
    return await openPglite(options);
  } catch (err) {
    throw startupFailure(err, options);
  }
}

/**
 * A server that does not answer a connection (a paused machine, a dropped network) fails the request
 * after 10 s instead of postgres.js's default 30 s; a refused connection fails at once.
 */
const connectTimeoutSeconds = 10;

async function openPostgres(url: string, max: number): Promise<Database> {
  const migrator = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: connectTimeoutSeconds });
  try {
    // 7_361_002 is closeloop's advisory lock key for migrations (an arbitrary constant).
    await migrator`select pg_advisory_lock(7361002)`;
    await migratePostgres(drizzlePostgres(migrator), { migrationsFolder });
    await migrator`select pg_advisory_unlock(7361002)`;
  } finally {
    await migrator.end();
  }
  // 32 MB of work_mem lets the duplicate checks sort a 100,000-row upload in memory instead of on disk.
  const client = postgres(url, {
    max,
    onnotice: () => {},
    connect_timeout: connectTimeoutSeconds,
    connection: { work_mem: '32MB' },
  });
  const db = drizzlePostgres(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'postgres',
    query: queryVia(db),
    close: () => client.end({ timeout: 5 }),
  };
}

async function openPglite({
  dataDir,
  loadDataDir,
  log,
  sharing,
}: Extract<DatabaseOptions, { kind: 'pglite' }>): Promise<Database> {
  // A failed write stops PGlite for good; the guard fails statements at once and reopens the folder.
  if (!dataDir) {
    const guarded = await guardPglite(() => PGlite.create(loadDataDir ? { loadDataDir } : {}), {
      ...(log ? { log } : {}),
    });
    return ownPglite(guarded.client, guarded.close);
  }
  // The template is loaded into a new folder once; a reopen after a failed write finds it there.
  let template = loadDataDir;
  const create = () => {
    const options = template ? { loadDataDir: template } : {};
    template = undefined;
    return PGlite.create(dataDir, options);
  };
  const embedded = await openEmbedded(
    dataDir,
    () => guardPglite(create, { dataDir, ...(log ? { log } : {}) }),
    sharing,
  );
  if (embedded.via === 'self') {
    const database = await ownPglite(embedded.pglite, embedded.close);
    try {
      await embedded.share();
    } catch (err) {
      await database.close().catch(() => {});
      throw err;
    }
    return database;
  }
  // The owner has migrated the database before serving it.
  const db = drizzlePostgres(embedded.sql, { schema }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    owner: { pid: embedded.owner.pid, command: embedded.owner.command },
    query: queryVia(db),
    close: embedded.close,
  };
}

/** A PGlite this process opened, migrated; `close` closes it (and lets go of its data folder). */
async function ownPglite(client: PGlite, close: () => Promise<void>): Promise<Database> {
  const pglite = drizzlePglite(client, { schema });
  try {
    await migratePglite(pglite, { migrationsFolder });
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
  const db = pglite as unknown as Db;
  let closed = false;
  return {
    db,
    kind: 'pglite',
    query: queryVia(db),
    close: async () => {
      if (closed) return;
      closed = true;
      await close();
    },
  };
}

/**
 * `Database['query']` over anything that executes statements: the database or a transaction. postgres.js
 * answers with an array of rows, PGlite with `{ rows }`; callers get the rows either way.
 */
export function queryVia(executor: Pick<Db, 'execute'>): Database['query'] {
  return async <T extends Record<string, unknown>>(statement: SQL) => {
    const result = (await executor.execute(statement)) as unknown as T[] | { rows: T[] };
    return Array.isArray(result) ? [...result] : result.rows;
  };
}

/** A no-op statement, to check that the connection works. */
export const ping = sql`select 1 as ok`;
