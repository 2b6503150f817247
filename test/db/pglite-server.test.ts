import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type SharedPglite, sharePglite } from '../../src/db/pglite-server.ts';
import { ensurePgliteTemplate } from '../helpers/pglite-template.ts';

// The owner's in-process PGlite and its socket clients share one PostgreSQL session; these check that
// their transactions never mix, and that a client that goes away leaves nothing open behind it.

let pglite: PGlite;
let shared: SharedPglite;
const socketPath = join(mkdtempSync(join(tmpdir(), 'closeloop-pgs-')), 'db.sock');
const clients: postgres.Sql[] = [];

beforeAll(async () => {
  pglite = await PGlite.create({ loadDataDir: new Blob([readFileSync(await ensurePgliteTemplate())]) });
  await pglite.exec('create table t (x int)');
  shared = await sharePglite(pglite, socketPath, { idleInTurnMs: 1_000 });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.end({ timeout: 1 })));
  await pglite.exec('delete from t');
});
afterAll(async () => {
  await shared.close(0);
  await pglite.close();
});

function client(name = 'test client'): postgres.Sql {
  const sql = postgres({
    path: socketPath,
    user: 'postgres',
    database: 'postgres',
    prepare: false,
    max: 1,
    onnotice: () => {},
    connection: { application_name: name },
  });
  clients.push(sql);
  return sql;
}

const rows = async () =>
  (await pglite.query<{ x: number }>('select x from t order by x')).rows.map((r) => r.x);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sharing one PGlite session', () => {
  it("keeps a client's acknowledged write out of the owner's transaction, which rolls back", async () => {
    const sql = client();
    await sql`select 1`;
    const owner = pglite
      .transaction(async (tx) => {
        await tx.query('insert into t values (1)');
        await sleep(200);
        throw new Error('the owner rolls back');
      })
      .catch(() => {});
    await sleep(50);
    await sql`insert into t values (${2})`;
    await owner;
    expect(await rows()).toEqual([2]);
  });

  it("keeps the owner's write out of a client's transaction, which rolls back", async () => {
    const sql = client();
    await sql`select 1`;
    const theirs = sql
      .begin(async (tx) => {
        await tx`insert into t values (${3})`;
        await sleep(200);
        throw new Error('the client rolls back');
      })
      .catch(() => {});
    await sleep(50);
    await pglite.query('insert into t values (4)');
    await theirs;
    expect(await rows()).toEqual([4]);
  });

  it("keeps two clients' transactions apart, and answers each its own parameters", async () => {
    const a = client('a');
    const b = client('b');
    await Promise.all([a`select 1`, b`select 1`]);
    const rolledBack = a
      .begin(async (tx) => {
        await tx`insert into t values (${5})`;
        await sleep(200);
        throw new Error('a rolls back');
      })
      .catch(() => {});
    await sleep(50);
    await b`insert into t values (${6})`;
    await rolledBack;
    expect(await rows()).toEqual([6]);
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b)`select ${i}::int as v`.then(([r]) => r!.v)),
    );
    expect(answers).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(shared.clients().sort()).toEqual(['a', 'b']);
  });

  it('rolls back the transaction of a client that vanishes mid-way, and goes on', async () => {
    const raw = await rawClient();
    raw.send(query('begin; insert into t values (7)'));
    await raw.until((out) => out.includes(readyFor('T')));
    raw.socket.destroy();
    // The owner is not stuck behind it, and the row it had not committed is gone.
    await pglite.query('insert into t values (8)');
    expect(await rows()).toEqual([8]);
    expect(pglite.isInTransaction()).toBe(false);
  });

  it('rolls back, not commits, an unfinished Parse/Bind/Execute of a client that vanishes', async () => {
    const raw = await rawClient();
    raw.send(
      Buffer.concat([parse('insert into t values (9)'), bind(), execute(), message('H', Buffer.alloc(0))]),
    );
    // CommandComplete "INSERT 0 1", and no ReadyForQuery: the implicit transaction is still open.
    await raw.until((out) => out.includes('INSERT 0 1'));
    raw.socket.destroy();
    await pglite.query('insert into t values (10)');
    expect(await rows()).toEqual([10]);
  });

  it('disconnects a client that holds a transaction and sends nothing for idleInTurnMs', async () => {
    const sql = client();
    await sql`select 1`;
    const silent = sql
      .begin(async (tx) => {
        await tx`insert into t values (${11})`;
        await sleep(5_000);
      })
      .then(
        () => 'committed',
        (err: { code?: string }) => err.code,
      );
    await sleep(50);
    // The owner waits for the client's turn, at most the 1 s limit (with 3 s to spare).
    const owner = pglite.query('insert into t values (12)').then(() => 'done');
    expect(await Promise.race([owner, sleep(4_000).then(() => 'still waiting')])).toBe('done');
    expect(await silent).toBe('CONNECTION_CLOSED');
    expect(await rows()).toEqual([12]);
  });
});

describe('closing', () => {
  it('waits for connected clients up to the grace, then disconnects them', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'closeloop-pgs-')), 'db.sock');
    const second = await sharePglite(pglite, path);
    const sql = postgres({ path, user: 'postgres', prepare: false, max: 1, onnotice: () => {} });
    await sql`select 1`;
    let closed = false;
    const closing = second.close(300).then(() => {
      closed = true;
    });
    await sleep(100);
    // Still connected within the grace: it can go on working.
    expect(closed).toBe(false);
    expect((await sql`select 2 as v`)[0]!.v).toBe(2);
    await closing;
    await expect(sql`select 3`).rejects.toMatchObject({
      code: expect.stringMatching(/^(CONNECTION_CLOSED|ENOENT|ECONNREFUSED)$/),
    });
    await sql.end({ timeout: 0 });
  });
});

describe('when PGlite itself fails', () => {
  it("ends the client's session with a FATAL error that says why, instead of a bare disconnect", async () => {
    const own = await PGlite.create({ loadDataDir: new Blob([readFileSync(await ensurePgliteTemplate())]) });
    const path = join(mkdtempSync(join(tmpdir(), 'closeloop-pgs-')), 'db.sock');
    const server = await sharePglite(own, path);
    const sql = postgres({ path, user: 'postgres', prepare: false, max: 1, onnotice: () => {} });
    try {
      await sql`select 1`;
      // A closed PGlite fails every statement; the client is told so, in a FATAL error.
      await own.close();
      await expect(sql`select 2`).rejects.toMatchObject({
        severity: 'FATAL',
        code: 'XX000',
        message: expect.stringMatching(/\S/),
      });
    } finally {
      await sql.end({ timeout: 0 });
      await server.close(0);
    }
  });
});

/** A client speaking the protocol by hand, to leave mid-sequence the way a killed process does. */
async function rawClient() {
  const socket = connect(socketPath);
  await once(socket, 'connect');
  let out = Buffer.alloc(0);
  let waiter: (() => void) | undefined;
  socket.on('data', (d) => {
    out = Buffer.concat([out, d]);
    waiter?.();
  });
  const raw = {
    socket,
    send: (b: Buffer) => socket.write(b),
    async until(done: (out: Buffer) => boolean) {
      while (!done(out)) await new Promise<void>((r) => (waiter = r));
      out = Buffer.alloc(0);
    },
  };
  raw.send(startup());
  await raw.until((o) => o.includes(readyFor('I')));
  return raw;
}

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0);
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

const cstr = (s: string) => Buffer.from(`${s}\0`);
const readyFor = (status: 'I' | 'T') => Buffer.from([0x5a, 0, 0, 0, 5, status.charCodeAt(0)]);
const query = (text: string) => message('Q', cstr(text));
const parse = (text: string) => message('P', Buffer.concat([cstr(''), cstr(text), Buffer.from([0, 0])]));
const bind = () => message('B', Buffer.concat([cstr(''), cstr(''), Buffer.from([0, 0, 0, 0, 0, 0])]));
const execute = () => message('E', Buffer.concat([cstr(''), Buffer.from([0, 0, 0, 0])]));

function startup(): Buffer {
  const params = Buffer.from('user\0postgres\0database\0postgres\0\0');
  const b = Buffer.alloc(8 + params.length);
  b.writeInt32BE(b.length, 0);
  b.writeInt32BE(196_608, 4);
  params.copy(b, 8);
  return b;
}
