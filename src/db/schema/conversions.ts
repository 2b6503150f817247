import { sql } from 'drizzle-orm';
import { bigserial, index, numeric, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { ledgerColumns } from './ledger-columns.ts';

/**
 * The ledger: one row per conversion, whatever its source. Identity is Microsoft's
 * (goal name, click ID, conversion time) within a customer; a second arrival is stored as 'duplicate'
 * pointing at the first and is never sent.
 */
export const conversions = pgTable(
  'conversions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    customerId: text('customer_id').notNull().default('default'),
    goalId: uuid('goal_id'),
    goalName: text('goal_name').notNull(),
    clickId: text('click_id'),
    matchKey: text('match_key').notNull(),
    /** Kept to the second forever: adjustments must repeat it exactly. */
    conversionTime: timestamp('conversion_time', { withTimezone: true }).notNull(),
    clickTime: timestamp('click_time', { withTimezone: true }),
    value: numeric('value', { precision: 15, scale: 3 }),
    currency: text('currency'),
    hashedEmail: text('hashed_email'),
    hashedPhone: text('hashed_phone'),
    ...ledgerColumns(),
  },
  (t) => [
    uniqueIndex('conversions_identity_key')
      .on(t.customerId, t.goalName, t.matchKey, t.conversionTime)
      .where(sql`state <> 'duplicate'`),
    index('conversions_state').on(t.state, t.heldUntil),
    index('conversions_upload').on(t.uploadId, t.uploadRow),
    // The outbox, as graphile-worker's jobs index: partial on the claim's predicate, one range per goal
    // (goal, run_at ≤ now), so a claim reads the rows it takes and no row in backoff or of another
    // account. Measured with 350,000 such rows: 377 ms per claim with the (id) index, see bench:claim.
    index('conversions_due').on(t.goalId, t.runAt, t.id).where(sql`state = 'queued'`),
    index('conversions_claimed').on(t.claimedAt).where(sql`state = 'submitting'`),
    // GET /metrics counts conversions by goal and state: an index-only scan of this index instead of a
    // scan of the table (100,000 rows: 98 ms instead of 176 ms on a loaded 2-core machine, bench:metrics).
    // State before goal: in the order (customer, goal, state) it shared its leading columns with the
    // identity key, and while the table's statistics lagged behind a fast-growing ledger the planner took
    // it for the duplicate checks' per-row lookups, scanning the goal's whole ledger for each row (a
    // 1,000-call batch against 9,000 conversions: 750 ms instead of 3 ms; webhook processing fell to
    // 299 calls/s at 40,000).
    index('conversions_customer_state_goal').on(t.customerId, t.state, t.goalName),
  ],
);

export type Conversion = typeof conversions.$inferSelect;
