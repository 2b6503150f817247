import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { ensurePgliteTemplate } from './pglite-template.ts';

/** Which database the *.db.test.ts files run on: set per vitest project (see vitest.config.ts). */
export function testDbKind(): 'pglite' | 'postgres' {
  return process.env.CLOSELOOP_TEST_DB === 'postgres' ? 'postgres' : 'pglite';
}

/**
 * A fresh, migrated database of its own for one test file: PGlite in memory (loaded from a migrated
 * template), or a new database on the real PostgreSQL at TEST_DATABASE_URL, dropped on close.
 */
export async function createTestDatabase(): Promise<Database> {
  if (testDbKind() === 'pglite') {
    const template = await ensurePgliteTemplate();
    return openDatabase({ kind: 'pglite', loadDataDir: new Blob([readFileSync(template)]) });
  }
  const { url, drop } = await createPostgresDatabaseUrl();
  const database = await openDatabase({ kind: 'postgres', url, max: 5 });
  return {
    ...database,
    close: async () => {
      await database.close();
      await drop();
    },
  };
}

/** The connection string of a fresh database (for tests that start processes), dropped by the returned function. */
export async function createPostgresDatabaseUrl(): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminUrl =
    process.env.BENCH_DATABASE_URL ??
    process.env.TEST_DATABASE_URL ??
    'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `closeloop_t_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
