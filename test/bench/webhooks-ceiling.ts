/**
 * The ceiling for bench:webhooks: the least a webhook receiver can do on this stack — a Hono handler on
 * @hono/node-server that reads the body and INSERTs it, one statement per request, then answers 200.
 * No lookup, no authentication, no parsing. On PostgreSQL (DATABASE_URL) or on PGlite in a folder
 * (PGLITE_DIR, one connection, as closeloop serve has). Prints "listening PORT" on stdout.
 */
import { PGlite } from '@electric-sql/pglite';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import postgres from 'postgres';

const url = process.env.DATABASE_URL;
const dir = process.env.PGLITE_DIR;
if (!url && !dir) throw new Error('DATABASE_URL or PGLITE_DIR is required');
const create =
  'create table if not exists bench_ceiling (id bigserial primary key, received_at timestamptz not null, body bytea not null)';
let insert: (body: Uint8Array) => Promise<unknown>;
let end: () => Promise<unknown>;
if (url) {
  const sql = postgres(url, { max: 10, onnotice: () => {} });
  await sql.unsafe(create);
  insert = (body) => sql`insert into bench_ceiling (received_at, body) values (${new Date()}, ${body})`;
  end = () => sql.end();
} else {
  const pglite = await PGlite.create(dir!);
  await pglite.exec(create);
  insert = (body) =>
    pglite.query('insert into bench_ceiling (received_at, body) values ($1, $2)', [new Date(), body]);
  end = () => pglite.close();
}
const app = new Hono();
app.post('/hook', async (c) => {
  await insert(new Uint8Array(await c.req.arrayBuffer()));
  return c.json({ received: 1 });
});
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  console.log(`listening ${info.port}`);
});
process.on('SIGTERM', () => {
  server.close();
  void end().then(() => process.exit(0));
});
