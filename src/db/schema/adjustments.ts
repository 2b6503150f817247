import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  index,
  integer,
  numeric,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { conversionStates, conversions } from './conversions.ts';

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
    state: text('state', { enum: conversionStates }).notNull(),
    heldUntil: timestamp('held_until', { withTimezone: true }),
    errorCode: text('error_code'),
    errorName: text('error_name'),
    message: text('message'),
    duplicateOf: bigint('duplicate_of', { mode: 'number' }),
    source: text('source', { enum: ['file', 'api', 'crm', 'call'] }).notNull(),
    sourceRef: text('source_ref').notNull(),
    uploadId: uuid('upload_id'),
    uploadRow: integer('upload_row'),
    attempts: integer('attempts').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('adjustments_identity_key')
      .on(t.conversionId, t.type, t.adjustmentTime)
      .where(sql`state <> 'duplicate'`),
    index('adjustments_state').on(t.state),
    index('adjustments_upload').on(t.uploadId, t.uploadRow),
  ],
);

export type Adjustment = typeof adjustments.$inferSelect;
