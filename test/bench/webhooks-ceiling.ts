/**
 * The ceiling for bench:webhooks: the least a webhook receiver can do on this stack — a Hono handler on
 * @hono/node-server that reads the body and INSERTs it, one statement per request, then answers 200.
 * No lookup, no authentication, no parsing. Prints "listening PORT" on stdout.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import postgres from 'postgres';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL is required');
const sql = postgres(url, { max: 10, onnotice: () => {} });
await sql`create table if not exists bench_ceiling (id bigserial primary key, received_at timestamptz not null, body bytea not null)`;
const app = new Hono();
app.post('/hook', async (c) => {
  const body = new Uint8Array(await c.req.arrayBuffer());
  await sql`insert into bench_ceiling (received_at, body) values (${new Date()}, ${body})`;
  return c.json({ received: 1 });
});
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  console.log(`listening ${info.port}`);
});
process.on('SIGTERM', () => {
  server.close();
  void sql.end().then(() => process.exit(0));
});
