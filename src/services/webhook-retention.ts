import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { ts } from '../db/sql.ts';
import { uploadRetentionMs } from '../ingest/stage.ts';

/**
 * Received calls are kept as long as upload results (180 days after they were processed), then deleted:
 * an event holds the provider's raw request, with the caller's number. The conversions and adjustments
 * they made stay in the ledger. Nothing is lost by forgetting them: a call redelivered after that is
 * more than 90 days old, which Microsoft no longer takes, and the ledger's identity still knows it.
 * Pending events are never deleted.
 */
export const webhookEventRetentionMs = uploadRetentionMs;

/**
 * Delete processed events past their retention, walking the oldest events `batch` at a time by id (short
 * statements, each reading only that batch through the primary key). The walk stops at the first batch
 * whose newest event was received after the cut: an event received after it cannot have been processed
 * before it, and ids follow arrival. So a table with nothing to delete costs one batch read, not a scan
 * of every event (serve runs this at start and every hour). Returns how many were deleted.
 */
export async function pruneWebhookEvents(database: Database, now: Date, batch = 10_000): Promise<number> {
  const cut = ts(new Date(now.getTime() - webhookEventRetentionMs));
  let total = 0;
  let after = 0;
  for (;;) {
    const [row] = await database.query<{ deleted: number; last: string | null; older: boolean | null }>(sql`
      with slice as (
        select id, state, processed_at, received_at from webhook_events
         where id > ${after} order by id limit ${batch}),
      gone as (
        delete from webhook_events e using slice s
         where e.id = s.id and s.state = 'processed' and s.processed_at < ${cut}
        returning 1)
      select (select count(*) from gone)::int as deleted, (select max(id) from slice)::text as last,
             (select max(received_at) from slice) < ${cut} as older`);
    total += Number(row?.deleted ?? 0);
    if (!row?.last || !row.older) return total;
    after = Number(row.last);
  }
}
