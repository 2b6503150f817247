import { type SQL, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { ts } from '../db/sql.ts';
import { maxConversionAgeMs } from '../domain/conversion-rules.ts';
import { idArray, type LedgerTable, table } from './ledger-sql.ts';

/** The outbox's housekeeping: held rows released, old rows expired, dead claims swept, failed rows retried. */

/** Held rows whose time has come join the queue. */
export async function releaseHeld(database: Database, now: Date): Promise<number> {
  let n = 0;
  for (const t of ['conversions', 'adjustments'] as const) {
    const rows = await database.query(sql`
      update ${table(t)} set state = 'queued', held_until = null, error_code = null, error_name = null,
             message = null, updated_at = ${ts(now)}
       where state = 'held' and held_until <= ${ts(now)}
      returning id`);
    n += rows.length;
  }
  return n;
}

/**
 * Decided locally, without an API call: conversions older than 90 days expire (Microsoft would refuse
 * them with 5609), and adjustments of conversions that Microsoft never accepted are rejected.
 */
export async function expireDue(
  database: Database,
  now: Date,
): Promise<{ expired: number; orphaned: number }> {
  const oldest = new Date(now.getTime() - maxConversionAgeMs);
  const message = sql`'The conversion happened more than 90 days ago (' || to_char(conversion_time at time zone 'UTC', 'YYYY-MM-DD')
    || '); Microsoft no longer imports it, so it expired here without being sent.'`;
  const expired = await database.query(sql`
    update conversions set state = 'expired', error_code = 'CONVERSION_TOO_OLD', error_name = null,
           message = ${message}, held_until = null, updated_at = ${ts(now)}
     where state in ('queued', 'held') and conversion_time < ${ts(oldest)}
    returning id`);
  const expiredAdjustments = await database.query(sql`
    update adjustments a set state = 'expired', error_code = 'CONVERSION_TOO_OLD', error_name = null,
           message = 'The conversion it adjusts happened more than 90 days ago; Microsoft no longer takes adjustments for it.',
           held_until = null, updated_at = ${ts(now)}
      from conversions c
     where c.id = a.conversion_id and a.state in ('queued', 'held') and c.conversion_time < ${ts(oldest)}
    returning a.id`);
  const orphaned = await database.query(sql`
    update adjustments a set state = 'rejected', error_code = 'ADJUSTMENT_CONVERSION_NOT_SENDABLE', error_name = null,
           message = 'The conversion this adjusts ended ' || c.state || ' (' || coalesce(c.error_code, '') || '), so there is nothing to adjust at Microsoft.',
           held_until = null, updated_at = ${ts(now)}
      from conversions c
     where c.id = a.conversion_id and a.state in ('queued', 'held') and c.state in ('rejected', 'expired')
    returning a.id`);
  return { expired: expired.length + expiredAdjustments.length, orphaned: orphaned.length };
}

/**
 * Claims older than the timeout belong to a process that died (or hung) mid-call: their rows go back
 * to the queue and are sent again, which is safe because Microsoft ignores a repeated
 * (goal, click ID, time). The attempt is kept, so a row that kills its process every time ends failed.
 */
export async function sweepStaleClaims(
  database: Database,
  input: { now: Date; claimTimeoutMs: number; maxAttempts: number },
): Promise<number> {
  const cutoff = new Date(input.now.getTime() - input.claimTimeoutMs);
  let n = 0;
  for (const t of ['conversions', 'adjustments'] as const) {
    const rows = await database.query(sql`
      update ${table(t)}
         set state = case when attempts >= ${input.maxAttempts} then 'failed' else 'queued' end,
             error_code = case when attempts >= ${input.maxAttempts} then 'ABANDONED' else error_code end,
             message = case when attempts >= ${input.maxAttempts}
               then 'The process sending it stopped mid-call ' || attempts || ' times; retry it with closeloop retry.'
               else message end,
             claimed_at = null, next_attempt_at = null, updated_at = ${ts(input.now)}
       where state = 'submitting' and claimed_at < ${ts(cutoff)}
      returning id`);
    n += rows.length;
  }
  // Every answer is recorded in one transaction with its submission (see the submitter), so a call
  // still 'sending' here never got its answer recorded: its rows were the ones queued again above.
  await database.query(sql`
    update submissions set outcome = 'abandoned', finished_at = ${ts(input.now)},
           error_message = 'the process stopped before recording the answer; its rows were queued again'
     where outcome = 'sending' and started_at < ${ts(cutoff)}`);
  return n;
}

/** Failed rows back to the queue with fresh attempts (`closeloop retry`, POST /api/v1/retries). */
export async function retryFailed(
  database: Database,
  input: { now: Date; uploadId?: string; ids?: readonly number[]; table?: LedgerTable },
): Promise<number> {
  let n = 0;
  const filters: SQL[] = [sql`state = 'failed'`];
  if (input.uploadId) filters.push(sql`upload_id = ${input.uploadId}::uuid`);
  if (input.ids) filters.push(sql`id = any(${idArray(input.ids)})`);
  for (const t of input.table ? [input.table] : (['conversions', 'adjustments'] as const)) {
    const rows = await database.query(sql`
      update ${table(t)} set state = 'queued', attempts = 0, next_attempt_at = null, error_code = null,
             error_name = null, message = null, updated_at = ${ts(input.now)}
       where ${sql.join(filters, sql` and `)}
      returning id`);
    n += rows.length;
  }
  return n;
}
