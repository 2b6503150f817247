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
    index('adjustments_outbox').on(t.id).where(sql`state = 'queued'`),
    index('adjustments_claimed').on(t.claimedAt).where(sql`state = 'submitting'`),
  ],
);

export type Adjustment = typeof adjustments.$inferSelect;
