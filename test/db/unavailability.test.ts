import { DrizzleQueryError } from 'drizzle-orm';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { databaseUnavailable, describeDatabase, unavailability } from '../../src/db/errors.ts';
import { freePort } from '../helpers/serve.ts';

/** Real failures, told apart: the database's make a 503, anything else stays a 500. */
describe('which errors mean "the database is unavailable"', () => {
  it('a refused PostgreSQL connection does, bare or under drizzle, and says what to check', async () => {
    const port = await freePort();
    const sql = postgres(`postgres://u:p@127.0.0.1:${port}/x`, { max: 1, connect_timeout: 2 });
    const err = await sql`select 1`.catch((e: unknown) => e);
    await sql.end();
    expect(unavailability(err)).toEqual({ reason: 'the connection was refused', code: 'ECONNREFUSED' });
    const wrapped = new DrizzleQueryError('select 1', [], err as Error);
    expect(unavailability(wrapped)?.code).toBe('ECONNREFUSED');
    expect(databaseUnavailable(wrapped, 'postgres')?.message).toMatch(
      /^The database is unavailable: the connection was refused \(ECONNREFUSED\)\. Check that PostgreSQL \(DATABASE_URL\)/,
    );
  });

  it('a refused call to another server does not, even with ECONNREFUSED as its cause', async () => {
    const port = await freePort();
    const err = await fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect((err as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
    expect(unavailability(err)).toBeUndefined();
    expect(unavailability(new Error('token refresh failed', { cause: err }))).toBeUndefined();
  });

  it('a statement that is wrong does not; a server that cannot serve does', () => {
    const pg = (code: string, severity = 'ERROR') => Object.assign(new Error(code), { code, severity });
    expect(unavailability(pg('23505'))).toBeUndefined();
    expect(unavailability(pg('42P01'))).toBeUndefined();
    for (const code of ['08006', '53100', '57P01', '3D000', '28P01'])
      expect(unavailability(pg(code))?.code, code).toBe(code);
    expect(unavailability(pg('XX000', 'PANIC'))?.reason).toMatch(/^the database stopped/);
  });

  it('names a PostgreSQL database without its password', () => {
    expect(describeDatabase({ kind: 'postgres', url: 'postgres://bob:s3cret@db.example:6543/ledger' })).toBe(
      'the PostgreSQL database bob@db.example:6543/ledger (DATABASE_URL)',
    );
  });
});
