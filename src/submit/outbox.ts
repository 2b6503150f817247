import { type SQL, sql } from 'drizzle-orm';
import { type Database, queryVia } from '../db/client.ts';
import { ts } from '../db/sql.ts';
import { maxConversionAgeMs } from '../domain/conversion-rules.ts';
import { arrayLiteral } from '../ingest/stage.ts';

/**
 * The outbox over the ledger, in the manner of graphile-worker's getJobs/failJobs: rows are claimed in
 * one statement (`for update skip locked`, then `update … returning`), every later update is fenced by
 * the claim's submission id (a process that lost its claim to the stale sweep cannot overwrite the
 * outcome), backoff is computed in SQL, and time is passed in so tests never sleep.
 */

export type LedgerTable = 'conversions' | 'adjustments';

/** A claimed conversion, in the shape the wire payload needs. */
export interface ClaimedConversion {
  id: number;
  goalId: string;
  goalName: string;
  clickId: string | null;
  /** Already YYYY-MM-DDTHH:mm:ssZ. */
  conversionTime: string;
  value: string | null;
  currency: string | null;
  hashedEmail: string | null;
  hashedPhone: string | null;
  attempts: number;
}

export interface ClaimedAdjustment {
  id: number;
  goalId: string;
  type: 'restate' | 'retract';
  adjustmentTime: string;
  value: string | null;
  currency: string | null;
  goalName: string;
  clickId: string | null;
  conversionTime: string;
  hashedEmail: string | null;
  hashedPhone: string | null;
  attempts: number;
}

const utc = (column: string) =>
  sql.raw(`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`);

const uuidArray = (ids: readonly string[]) => sql`${arrayLiteral(ids)}::text::uuid[]`;
const idArray = (ids: readonly number[]) => sql`${`{${ids.join(',')}}`}::text::bigint[]`;

/** Claim up to `limit` due conversions of the given (ready) goals for one submission. */
export async function claimConversions(
  database: Database,
  input: { goalIds: readonly string[]; limit: number; submissionId: string; now: Date },
): Promise<ClaimedConversion[]> {
  if (input.goalIds.length === 0) return [];
  const rows = await database.query<Record<string, unknown>>(sql`
    with due as (
      select id from conversions
       where state = 'queued' and goal_id = any(${uuidArray(input.goalIds)})
         and (next_attempt_at is null or next_attempt_at <= ${ts(input.now)})
         -- Too old for Microsoft (5609): left for expireDue, never sent.
         and conversion_time >= ${ts(new Date(input.now.getTime() - maxConversionAgeMs))}
       order by id
       limit ${input.limit}
       for update skip locked
    )
    update conversions c
       set state = 'submitting', claimed_at = ${ts(input.now)}, submission_id = ${input.submissionId}::uuid,
           attempts = c.attempts + 1, updated_at = ${ts(input.now)}
      from due where c.id = due.id
    returning c.id, c.goal_id, c.goal_name, c.click_id, ${utc('c.conversion_time')} as conversion_time,
              c.value::text as value, c.currency, c.hashed_email, c.hashed_phone, c.attempts`);
  return rows
    .map((r) => ({
      id: Number(r.id),
      goalId: String(r.goal_id),
      goalName: String(r.goal_name),
      clickId: (r.click_id as string | null) ?? null,
      conversionTime: String(r.conversion_time),
      value: (r.value as string | null) ?? null,
      currency: (r.currency as string | null) ?? null,
      hashedEmail: (r.hashed_email as string | null) ?? null,
      hashedPhone: (r.hashed_phone as string | null) ?? null,
      attempts: Number(r.attempts),
    }))
    .sort((a, b) => a.id - b.id);
}

/**
 * Claim due adjustments whose conversion Microsoft has accepted — never before — one at a time per
 * conversion and in adjustment-time order (a Retract after a Restate must arrive after it).
 */
export async function claimAdjustments(
  database: Database,
  input: { goalIds: readonly string[]; limit: number; submissionId: string; now: Date },
): Promise<ClaimedAdjustment[]> {
  if (input.goalIds.length === 0) return [];
  const rows = await database.query<Record<string, unknown>>(sql`
    with due as (
      select a.id from adjustments a join conversions c on c.id = a.conversion_id
       where a.state = 'queued' and c.state = 'accepted' and c.goal_id = any(${uuidArray(input.goalIds)})
         and (a.next_attempt_at is null or a.next_attempt_at <= ${ts(input.now)})
         and c.conversion_time >= ${ts(new Date(input.now.getTime() - maxConversionAgeMs))}
         and not exists (
           select 1 from adjustments p
            where p.conversion_id = a.conversion_id and p.id <> a.id
              and (p.state = 'submitting'
                   or (p.state in ('held', 'queued') and (p.adjustment_time, p.id) < (a.adjustment_time, a.id))))
       order by a.id
       limit ${input.limit}
       for update of a skip locked
    )
    update adjustments a
       set state = 'submitting', claimed_at = ${ts(input.now)}, submission_id = ${input.submissionId}::uuid,
           attempts = a.attempts + 1, updated_at = ${ts(input.now)}
      from due, conversions c
     where a.id = due.id and c.id = a.conversion_id
    returning a.id, c.goal_id, a.type, ${utc('a.adjustment_time')} as adjustment_time, a.value::text as value,
              a.currency, c.goal_name, c.click_id, ${utc('c.conversion_time')} as conversion_time,
              c.hashed_email, c.hashed_phone, a.attempts`);
  return rows
    .map((r) => ({
      id: Number(r.id),
      goalId: String(r.goal_id),
      type: r.type as 'restate' | 'retract',
      adjustmentTime: String(r.adjustment_time),
      value: (r.value as string | null) ?? null,
      currency: (r.currency as string | null) ?? null,
      goalName: String(r.goal_name),
      clickId: (r.click_id as string | null) ?? null,
      conversionTime: String(r.conversion_time),
      hashedEmail: (r.hashed_email as string | null) ?? null,
      hashedPhone: (r.hashed_phone as string | null) ?? null,
      attempts: Number(r.attempts),
    }))
    .sort((a, b) => a.id - b.id);
}

const table = (t: LedgerTable) => sql.raw(t);

/** The fence: only rows still claimed by this submission are touched. */
const fenced = (submissionId: string) => sql`submission_id = ${submissionId}::uuid and state = 'submitting'`;

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

/** Is anything due for these goals? Asked before reserving a call slot, so an empty queue costs no slot. */
export async function hasDue(
  database: Database,
  input: { goalIds: readonly string[]; now: Date },
): Promise<boolean> {
  if (input.goalIds.length === 0) return false;
  const goalsParam = uuidArray(input.goalIds);
  // The same cut-off as the claims: rows too old for Microsoft wait for expireDue, not for a call slot.
  const oldest = new Date(input.now.getTime() - maxConversionAgeMs);
  const [row] = await database.query<{ due: boolean }>(sql`
    select exists (
      select 1 from conversions
       where state = 'queued' and goal_id = any(${goalsParam})
         and (next_attempt_at is null or next_attempt_at <= ${ts(input.now)})
         and conversion_time >= ${ts(oldest)}
    ) or exists (
      select 1 from adjustments a join conversions c on c.id = a.conversion_id
       where a.state = 'queued' and c.state = 'accepted' and c.goal_id = any(${goalsParam})
         and (a.next_attempt_at is null or a.next_attempt_at <= ${ts(input.now)})
         and c.conversion_time >= ${ts(oldest)}
    ) as due`);
  return row?.due === true;
}

export type ClaimedBatch =
  | { table: 'conversions'; rows: ClaimedConversion[] }
  | { table: 'adjustments'; rows: ClaimedAdjustment[] };

/**
 * One call's worth of rows for an account: conversions first, else adjustments. Claims of one account
 * take turns across processes (a transaction-level advisory lock): two claims at the same moment would
 * otherwise share the rows `skip locked` leaves them — the last 1,500 rows as 750 + 750 instead of
 * 1,000 + 500, an extra call. After the lock, the claim's fresh snapshot sees the previous claim's rows
 * as taken. PGlite is one process; the submitter serializes its claims in memory.
 */
export async function claimBatch(
  database: Database,
  input: { accountId: string; goalIds: readonly string[]; limit: number; submissionId: string; now: Date },
): Promise<ClaimedBatch> {
  const claim = async (db: Database): Promise<ClaimedBatch> => {
    const conversions = await claimConversions(db, input);
    if (conversions.length > 0) return { table: 'conversions', rows: conversions };
    return { table: 'adjustments', rows: await claimAdjustments(db, input) };
  };
  if (database.kind === 'pglite') return claim(database);
  return database.db.transaction(async (tx) => {
    const query = queryVia(tx);
    await query(sql`select pg_advisory_xact_lock(7361006, hashtext(${input.accountId}::text))`);
    return claim({ ...database, query });
  });
}
