import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { ts } from '../db/sql.ts';
import { arrayLiteral } from '../ingest/stage.ts';
import { fenced, idArray, type LedgerTable, table } from './ledger-sql.ts';

/**
 * What Microsoft said, written to the claimed rows. Every statement is fenced by the claim's id: rows
 * a stale-claim sweep gave to another process are not touched.
 */

/** Microsoft accepted these: the rows of `ids` still claimed by the submission (verdicts were written first). */
export async function markAccepted(
  database: Database,
  t: LedgerTable,
  input: { submissionId: string; ids: readonly number[]; now: Date; finalSubmissionId?: string },
): Promise<number> {
  const rows = await database.query(sql`
    update ${table(t)}
       set state = 'accepted', accepted_at = ${ts(input.now)}, claimed_at = null, next_attempt_at = null,
           error_code = null, error_name = null, message = null, updated_at = ${ts(input.now)}
           ${input.finalSubmissionId ? sql`, submission_id = ${input.finalSubmissionId}::uuid` : sql``}
     where ${fenced(input.submissionId)} and id = any(${idArray(input.ids)})
    returning id`);
  return rows.length;
}

export interface RowVerdict {
  id: number;
  state: 'rejected' | 'expired' | 'held';
  errorCode: string;
  errorName: string;
  message: string;
  heldUntil?: Date;
}

/** Per-row outcomes (rejected, expired, or held again), written in one statement. */
export async function markVerdicts(
  database: Database,
  t: LedgerTable,
  input: { submissionId: string; verdicts: readonly RowVerdict[]; now: Date; finalSubmissionId?: string },
): Promise<number> {
  if (input.verdicts.length === 0) return 0;
  const v = input.verdicts;
  const rows = await database.query(sql`
    update ${table(t)} l
       set state = x.state, error_code = x.error_code, error_name = x.error_name, message = x.message,
           held_until = x.held_until, claimed_at = null, updated_at = ${ts(input.now)},
           attempts = case when x.state = 'held' then greatest(l.attempts - 1, 0) else l.attempts end
           ${input.finalSubmissionId ? sql`, submission_id = ${input.finalSubmissionId}::uuid` : sql``}
      from unnest(${idArray(v.map((r) => r.id))},
                  ${arrayLiteral(v.map((r) => r.state))}::text::text[],
                  ${arrayLiteral(v.map((r) => r.errorCode))}::text::text[],
                  ${arrayLiteral(v.map((r) => r.errorName))}::text::text[],
                  ${arrayLiteral(v.map((r) => r.message))}::text::text[],
                  ${arrayLiteral(v.map((r) => r.heldUntil?.toISOString() ?? null))}::text::timestamptz[])
           as x(id, state, error_code, error_name, message, held_until)
     where l.id = x.id and l.submission_id = ${input.submissionId}::uuid and l.state = 'submitting'
    returning l.id`);
  return rows.length;
}

export interface RetryPolicy {
  maxAttempts: number;
  backoffBaseMs: number;
  backoffCapMs: number;
}

/**
 * A transient failure (0, 5612, 5xx, timeout): back to the queue with exponential backoff and jitter,
 * or `failed` with the last error once the attempts are used up. `ids` limits it to some rows.
 */
export async function markRetry(
  database: Database,
  t: LedgerTable,
  input: {
    submissionId: string;
    policy: RetryPolicy;
    errorCode: string;
    errorName: string;
    message: string;
    now: Date;
    ids?: readonly number[];
    /**
     * One factor (0.75–1.25) for the whole batch: rows that failed together come due together and go
     * out again in one call, not scattered over several small ones. @default random
     */
    jitter?: number;
  },
): Promise<{ retried: number; failed: number }> {
  const { policy } = input;
  const rows = await database.query<{ state: string }>(sql`
    update ${table(t)}
       set state = case when attempts >= ${policy.maxAttempts} then 'failed' else 'queued' end,
           next_attempt_at = ${ts(input.now)} + least(${policy.backoffCapMs}::float8,
               ${policy.backoffBaseMs}::float8 * power(2, greatest(attempts - 1, 0)))
               * ${input.jitter ?? 0.75 + Math.random() * 0.5}::float8 * interval '1 millisecond',
           error_code = ${input.errorCode}, error_name = ${input.errorName},
           message = case when attempts >= ${policy.maxAttempts}
             then ${`Sending failed ${policy.maxAttempts} times; the last error: `} || ${input.message}
                  || ${'. Retry it with `closeloop retry` or POST /api/v1/retries once the cause is fixed.'}
             else 'Attempt ' || attempts || ' of ' || ${policy.maxAttempts} || ' failed: ' || ${input.message}
                  || ${'; it is sent again automatically.'} end,
           claimed_at = null, updated_at = ${ts(input.now)}
     where ${fenced(input.submissionId)}
       ${input.ids ? sql`and id = any(${idArray(input.ids)})` : sql``}
    returning state`);
  const failed = rows.filter((r) => r.state === 'failed').length;
  return { retried: rows.length - failed, failed };
}

/**
 * Back to the queue without spending an attempt: throttling, an account problem, or rows that were not
 * applied because Microsoft refused the request for other items.
 */
export async function release(
  database: Database,
  t: LedgerTable,
  input: { submissionId: string; now: Date; notBefore?: Date; ids?: readonly number[] },
): Promise<number> {
  const rows = await database.query(sql`
    update ${table(t)}
       set state = 'queued', attempts = greatest(attempts - 1, 0), claimed_at = null,
           next_attempt_at = ${input.notBefore ? ts(input.notBefore) : sql`null`}, updated_at = ${ts(input.now)}
     where ${fenced(input.submissionId)}
       ${input.ids ? sql`and id = any(${idArray(input.ids)})` : sql``}
    returning id`);
  return rows.length;
}
