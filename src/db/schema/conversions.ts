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

export const conversionStates = [
  'held',
  'queued',
  'submitting',
  'accepted',
  'rejected',
  'duplicate',
  'expired',
  'failed',
] as const;
export type ConversionState = (typeof conversionStates)[number];

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
    state: text('state', { enum: conversionStates }).notNull(),
    /** Held rows are released at this instant (goal 2 hours old, click 1 hour old). */
    heldUntil: timestamp('held_until', { withTimezone: true }),
    /** Why the row is in its state: expired reason, Microsoft's code and name, what to fix. */
    errorCode: text('error_code'),
    errorName: text('error_name'),
    message: text('message'),
    duplicateOf: bigint('duplicate_of', { mode: 'number' }),
    source: text('source', { enum: ['file', 'api', 'crm', 'call'] }).notNull(),
    /** Where it came from: "upload:<id>:row:<n>", "api:<request id>:<index>", a CRM deal id, a call id. */
    sourceRef: text('source_ref').notNull(),
    uploadId: uuid('upload_id'),
    uploadRow: integer('upload_row'),
    attempts: integer('attempts').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('conversions_identity_key')
      .on(t.customerId, t.goalName, t.matchKey, t.conversionTime)
      .where(sql`state <> 'duplicate'`),
    index('conversions_state').on(t.state, t.heldUntil),
    index('conversions_upload').on(t.uploadId, t.uploadRow),
  ],
);

export type Conversion = typeof conversions.$inferSelect;
