import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  index,
  numeric,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { conversions } from './conversions.ts';
import { ledgerColumns } from './ledger-columns.ts';

/** A Restate (new value) or Retract of a conversion in the ledger; sent only after the conversion was accepted. */
export const adjustments = pgTable(
  'adjustments',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    customerId: text('customer_id').notNull().default('default'),
    conversionId: bigint('conversion_id', { mode: 'number' })
      .notNull()
      .references(() => conversions.id),
    /**
     * Its conversion's goal (null when the conversion has none), copied on insert by the trigger
     * adjustments_goal_id (migration 0003), whoever writes the row: the claim reads one index range per
     * goal of the account (adjustments_due), never another account's adjustments.
     */
    goalId: uuid('goal_id'),
    type: text('type', { enum: ['restate', 'retract'] }).notNull(),
    adjustmentTime: timestamp('adjustment_time', { withTimezone: true }).notNull(),
    value: numeric('value', { precision: 15, scale: 3 }),
    currency: text('currency'),
    ...ledgerColumns(),
  },
  (t) => [
    uniqueIndex('adjustments_identity_key')
      .on(t.conversionId, t.type, t.adjustmentTime)
      .where(sql`state <> 'duplicate'`),
    index('adjustments_state').on(t.state),
    index('adjustments_upload').on(t.uploadId, t.uploadRow),
    // As conversions_due: one range per goal, rows in backoff past its end.
    index('adjustments_due').on(t.goalId, t.runAt, t.id).where(sql`state = 'queued'`),
    index('adjustments_claimed').on(t.claimedAt).where(sql`state = 'submitting'`),
  ],
);

export type Adjustment = typeof adjustments.$inferSelect;
