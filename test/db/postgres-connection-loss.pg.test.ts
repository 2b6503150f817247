import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { createApiKey } from '../../src/services/api-keys.ts';
import { createGoal } from '../../src/services/goals.ts';
import { testContext } from '../helpers/context.ts';
import { createPostgresDatabaseUrl } from '../helpers/db.ts';
import { startServe } from '../helpers/serve.ts';

/**
 * A PostgreSQL connection that dies inside a transaction (pg_terminate_backend, a failover, a proxy
 * that drops it) fails that transaction, and nothing else: postgres.js 3.4.9 unpatched killed the
 * process from a timer (porsager/postgres#1154; see patches/postgres.mjs), and the next query on the
 * reconnected connection failed with the dead backend's error.
 */
let url: string;
let drop: () => Promise<void>;
let admin: postgres.Sql;

beforeAll(async () => {
  ({ url, drop } = await createPostgresDatabaseUrl());
  admin = postgres(url, { max: 2, onnotice: () => {} });
});
afterAll(async () => {
  await admin?.end();
  await drop?.();
});

/** The backend of `application_name` once it runs a statement matching `query`. */
async function backendOf(application: string, query: RegExp): Promise<number> {
  for (let i = 0; i < 2000; i++) {
    const rows = await admin<{ pid: number; query: string }[]>`
      select pid, query from pg_stat_activity
       where application_name = ${application} and state = 'active'`;
    const hit = rows.find((r) => query.test(r.query));
    if (hit) return hit.pid;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no backend of ${application} ran ${query}`);
}

describe('postgres.js when the backend of a transaction is terminated', () => {
  it('rejects the transaction, keeps the process alive, and the next query on that connection works', async () => {
    const application = 'closeloop-loss-driver';
    // One connection: the query after the failure must run on the very connection that lost its backend.
    const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { application_name: application } });
    try {
      const transaction = sql.begin(async (tx) => {
        await tx`select pg_sleep(30)`;
      });
      const pid = await backendOf(application, /pg_sleep/);
      await admin`select pg_terminate_backend(${pid})`;
      await expect(transaction).rejects.toMatchObject({
        code: expect.stringMatching(/57P01|CONNECTION_CLOSED/),
      });
      // Unpatched, this query got the dead backend's 57P01 error, left in the connection's state.
      expect(await sql`select 1 as ok`).toEqual([{ ok: 1 }]);
      // And a transaction that finds its connection already gone is rejected (unpatched: TypeError in a timer).
      const second = sql.begin(async (tx) => {
        const [row] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
        await admin`select pg_terminate_backend(${row!.pid})`;
        await new Promise((r) => setTimeout(r, 100));
        await tx`select 1`;
      });
      await expect(second).rejects.toBeInstanceOf(Error);
      expect(await sql`select 2 as ok`).toEqual([{ ok: 2 }]);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});

describe('closeloop serve when the connection of an apply is terminated', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openDatabase({ kind: 'postgres', url, max: 2 });
  });
  afterAll(() => database?.close());

  it('answers 503 problem+json, applies nothing, and goes on serving', async () => {
    const ctx = testContext(database, () => new Date());
    await createGoal({ ctx, input: { name: 'Purchase' } });
    const { key } = await createApiKey({ ctx, name: 'test' });
    const headers = { authorization: `Bearer ${key}` };
    const now = new Date();
    const csv = ['Microsoft Click Id,Conversion Name,Conversion Time'];
    for (let i = 0; i < 20_000; i++)
      csv.push(
        `${i.toString(16).padStart(32, '0')},Purchase,${new Date(now.getTime() - 86_400_000).toISOString().slice(0, 19)}`,
      );

    // Every connection of the service carries this name, so the test finds the apply's backend.
    const serve = await startServe({
      DATABASE_URL: `${url}?application_name=closeloop-loss-app`,
      CLOSELOOP_SECRET_KEY: randomBytes(32).toString('hex'),
    });
    try {
      const uploaded = await fetch(`${serve.base}/api/v1/uploads?filename=a.csv`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'text/csv' },
        body: csv.join('\n'),
      });
      expect(uploaded.status).toBe(201);
      const { id } = (await uploaded.json()) as { id: string };

      // Terminated while it inserts the rows into the ledger, as the 100,000-row apply that crashed was.
      const answer = fetch(`${serve.base}/api/v1/uploads/${id}/apply`, { method: 'POST', headers });
      const pid = await backendOf('closeloop-loss-app', /insert into conversions/);
      await admin`select pg_terminate_backend(${pid})`;
      const res = await answer;
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.headers.get('retry-after')).toBe('5');
      const body = (await res.json()) as { title: string; detail: string };
      expect(body.title).toBe('database_unavailable');
      expect(body.detail).toMatch(/PostgreSQL/);

      // The process lives on (unpatched, a TypeError in a timer ended it here), nothing was applied,
      // and the same upload applies.
      expect((await fetch(`${serve.base}/health`)).status).toBe(200);
      const [counted] = await admin<{ n: number }[]>`select count(*)::int as n from conversions`;
      expect(counted?.n).toBe(0);
      const again = await fetch(`${serve.base}/api/v1/uploads/${id}/apply`, { method: 'POST', headers });
      expect(again.status).toBe(200);
      // Queued, or held for the moment until the dry run's goal exists at the emulator: all of it either way.
      const { counts } = (await again.json()) as { counts: { queued?: number; held?: number } };
      expect((counts.queued ?? 0) + (counts.held ?? 0)).toBe(20_000);
      expect(serve.log()).not.toMatch(/TypeError/);
    } finally {
      serve.child.kill('SIGTERM');
      expect(await serve.exited, serve.log()).toBe(0);
    }
  });
});
