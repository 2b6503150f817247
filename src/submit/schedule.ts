import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { ts } from '../db/sql.ts';

/**
 * The per-account call schedule, shared by every process through the database: each call takes the
 * next start time in one atomic UPDATE of the account row, so N processes together never start more
 * than `callsPerMinute` calls in any 60 seconds. Calls are spaced evenly (a GCRA with no burst), which
 * also keeps Microsoft's sliding one-minute window (error 117) from ever seeing a burst.
 */

/**
 * Spacing is stretched by this much so that network jitter between reserving a slot here and the call
 * reaching Microsoft cannot put N+1 calls into one of its sliding minutes.
 */
export const spacingMargin = 1.02;

export function callSpacingMs(callsPerMinute: number): number {
  return (60_000 / callsPerMinute) * spacingMargin;
}

/**
 * Reserve the next call slot of an account and return when it starts (now or later). A pause (117,
 * 429, an account error) pushes every slot past its end.
 */
export async function reserveSlot(
  database: Database,
  input: { accountId: string; callsPerMinute: number; now: Date },
): Promise<Date> {
  const spacing = callSpacingMs(input.callsPerMinute);
  const [row] = await database.query<{ slot: string | number }>(sql`
    update accounts
       set next_call_at = greatest(coalesce(next_call_at, ${ts(input.now)}), ${ts(input.now)},
                                   coalesce(paused_until, ${ts(input.now)}))
                          + ${spacing}::float8 * interval '1 millisecond'
     where id = ${input.accountId}::uuid
    returning extract(epoch from next_call_at) * 1000 - ${spacing}::float8 as slot`);
  if (!row) throw new Error(`account ${input.accountId} does not exist`);
  return new Date(Math.round(Number(row.slot)));
}

/** The account is paused until this instant (null: not paused). Checked again after waiting for a slot. */
export async function pausedUntil(database: Database, accountId: string): Promise<Date | null> {
  const [row] = await database.query<{ until: string | number | null }>(
    sql`select extract(epoch from paused_until) * 1000 as until from accounts where id = ${accountId}::uuid`,
  );
  return row?.until == null ? null : new Date(Math.round(Number(row.until)));
}

/** The account's pause while it lasts: until when, and why (null: not paused). */
export async function pauseOf(
  database: Database,
  accountId: string,
): Promise<{ until: Date; reason: string | null } | null> {
  const [row] = await database.query<{ until: string | number | null; reason: string | null }>(sql`
    select extract(epoch from paused_until) * 1000 as until, pause_reason as reason
      from accounts where id = ${accountId}::uuid`);
  if (row?.until == null) return null;
  return { until: new Date(Math.round(Number(row.until))), reason: row.reason };
}

/** Pause every process's calls to the account (never shortens a longer pause already set). */
export async function pauseAccount(
  database: Database,
  input: { accountId: string; until: Date; reason: string; now: Date },
): Promise<void> {
  await database.query(sql`
    update accounts
       set paused_until = greatest(coalesce(paused_until, ${ts(input.until)}), ${ts(input.until)}),
           pause_reason = ${input.reason}, updated_at = ${ts(input.now)}
     where id = ${input.accountId}::uuid`);
}

/** A successful call ends an account-error pause early (throttling pauses run their course). */
export async function clearPause(database: Database, accountId: string, now: Date): Promise<void> {
  await database.query(sql`
    update accounts set paused_until = null, pause_reason = null
     where id = ${accountId}::uuid and paused_until is not null and paused_until <= ${ts(now)}`);
}

/**
 * End the account's pause now, whatever its end (`closeloop accounts resume`, once the cause is fixed).
 * Slots reserved while it stood lie past its end (reserveSlot pushes every slot past a pause): they move
 * back by what was left of it, so the next call is not kept waiting for the pause that was lifted, and
 * the calls already spaced after it stay spaced.
 */
export async function liftPause(
  database: Pick<Database, 'query'>,
  input: { accountId: string; now: Date },
): Promise<void> {
  const now = ts(input.now);
  await database.query(sql`
    update accounts
       set next_call_at = case when next_call_at >= paused_until
                               then greatest(next_call_at - (paused_until - ${now}), ${now})
                               else next_call_at end,
           paused_until = null, pause_reason = null, updated_at = ${now}
     where id = ${input.accountId}::uuid and paused_until is not null`);
}
