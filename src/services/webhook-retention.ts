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

/** Delete processed events past their retention, `batch` at a time (short statements); returns how many. */
export async function pruneWebhookEvents(database: Database, now: Date, batch = 10_000): Promise<number> {
  const cut = ts(new Date(now.getTime() - webhookEventRetentionMs));
  let total = 0;
  for (;;) {
    const [row] = await database.query<{ n: number }>(sql`
      with gone as (
        delete from webhook_events where id in (
          select id from webhook_events
           where state = 'processed' and processed_at < ${cut}
           order by id limit ${batch})
        returning 1)
      select count(*)::int as n from gone`);
    const n = Number(row?.n ?? 0);
    total += n;
    if (n < batch) return total;
  }
}
