import { sql } from 'drizzle-orm';
import { type Database, queryVia } from '../db/client.ts';
import { ts } from '../db/sql.ts';
import { maxConversionAgeMs } from '../domain/conversion-rules.ts';
import { utc, uuidArray } from './ledger-sql.ts';

/**
 * The outbox over the ledger, in the manner of graphile-worker's getJobs/failJobs: rows are claimed in
 * one statement (`for update skip locked`, then `update … returning`), every later update is fenced by
 * the claim's submission id (a process that lost its claim to the stale sweep cannot overwrite the
 * outcome), backoff is computed in SQL, and time is passed in so tests never sleep. As graphile-worker's
 * jobs, every row has a run_at (the end of its backoff, else 1970: due) and the claim walks a partial
 * index on exactly its predicate, so its cost does not grow with the rows it must leave alone.
 */

export type { LedgerTable } from './ledger-sql.ts';

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

/**
 * The ids of due conversions of these goals, oldest run_at first: one range of conversions_due per goal,
 * so rows in backoff (past `run_at <= now`) and other accounts' rows (under other goals) are never read,
 * and a claim costs the rows it takes, not the depth of the queue (bench:claim).
 */
function dueConversions(goalIds: readonly string[], now: Date, limit: number) {
  return sql`
    select d.id from unnest(${uuidArray(goalIds)}) as g(goal_id)
    cross join lateral (
      select id, run_at from conversions
       where state = 'queued' and goal_id = g.goal_id and run_at <= ${ts(now)}
         -- Too old for Microsoft (5609): left for expireDue, never sent.
         and conversion_time >= ${ts(new Date(now.getTime() - maxConversionAgeMs))}
       order by run_at, id
       limit ${limit}
    ) d
    order by d.run_at, d.id
    limit ${limit}`;
}

/**
 * The ids of due adjustments whose conversion Microsoft has accepted and that no earlier adjustment of
 * the same conversion waits before: as dueConversions, one range of adjustments_due per goal. An
 * adjustment waiting for its conversion stays in the range and is read past.
 */
function dueAdjustments(goalIds: readonly string[], now: Date, limit: number) {
  return sql`
    select d.id from unnest(${uuidArray(goalIds)}) as g(goal_id)
    cross join lateral (
      select a.id, a.run_at from adjustments a join conversions c on c.id = a.conversion_id
       where a.state = 'queued' and a.goal_id = g.goal_id and a.run_at <= ${ts(now)}
         and c.state = 'accepted' and c.goal_id = g.goal_id
         and c.conversion_time >= ${ts(new Date(now.getTime() - maxConversionAgeMs))}
         and not exists (
           select 1 from adjustments p
            where p.conversion_id = a.conversion_id and p.id <> a.id
              and (p.state = 'submitting'
                   or (p.state in ('held', 'queued') and (p.adjustment_time, p.id) < (a.adjustment_time, a.id))))
       order by a.run_at, a.id
       limit ${limit}
    ) d
    order by d.run_at, d.id
    limit ${limit}`;
}

/** Claim up to `limit` due conversions of the given (ready) goals for one submission. */
export async function claimConversions(
  database: Database,
  input: { goalIds: readonly string[]; limit: number; submissionId: string; now: Date },
): Promise<ClaimedConversion[]> {
  if (input.goalIds.length === 0) return [];
  const rows = await database.query<Record<string, unknown>>(sql`
    with candidates as (${dueConversions(input.goalIds, input.now, input.limit)}),
    due as (
      -- Locked here, not in the candidates (those read up to a batch per goal, one batch is taken);
      -- a row another transaction changed meanwhile is checked again as it is now.
      select id from conversions
       where id = any(array(select id from candidates)) and state = 'queued' and run_at <= ${ts(input.now)}
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
    with candidates as (${dueAdjustments(input.goalIds, input.now, input.limit)}),
    due as (
      select id from adjustments
       where id = any(array(select id from candidates)) and state = 'queued' and run_at <= ${ts(input.now)}
       for update skip locked
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

/** Is anything due for these goals? Asked before reserving a call slot, so an empty queue costs no slot. */
export async function hasDue(
  database: Database,
  input: { goalIds: readonly string[]; now: Date },
): Promise<boolean> {
  if (input.goalIds.length === 0) return false;
  // Scalar subqueries, not EXISTS: PostgreSQL drops the ORDER BY … LIMIT of an EXISTS and may then
  // hash-join every accepted conversion (86 ms at 75,000 rows) where the ordered index walk reads one.
  const [row] = await database.query<{ due: boolean }>(sql`
    select coalesce((${dueConversions(input.goalIds, input.now, 1)}),
                    (${dueAdjustments(input.goalIds, input.now, 1)})) is not null as due`);
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
