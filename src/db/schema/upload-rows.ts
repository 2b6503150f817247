import { bigint, index, integer, numeric, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { uploads } from './uploads.ts';

/**
 * One data row of an upload, as validated: the normalized values (never a plain email or phone) and the
 * outcome. Before apply the outcome is a preview; apply turns it into ledger rows and final outcomes.
 */
export const uploadRows = pgTable(
  'upload_rows',
  {
    uploadId: uuid('upload_id')
      .notNull()
      .references(() => uploads.id, { onDelete: 'cascade' }),
    row: integer('row').notNull(),
    /** ok → will be queued · held · duplicate · rejected · expired; after apply: queued · held · … */
    status: text('status', { enum: ['ok', 'queued', 'held', 'duplicate', 'rejected', 'expired'] }).notNull(),
    errorCode: text('error_code'),
    errorColumn: text('error_column'),
    message: text('message'),
    notes: text('notes'),
    goalName: text('goal_name'),
    clickId: text('click_id'),
    /** Identity used for duplicates: the click ID, or the hashed email/phone when there is none. */
    matchKey: text('match_key'),
    conversionTime: timestamp('conversion_time', { withTimezone: true }),
    value: numeric('value', { precision: 15, scale: 3 }),
    currency: text('currency'),
    hashedEmail: text('hashed_email'),
    hashedPhone: text('hashed_phone'),
    adjustmentType: text('adjustment_type', { enum: ['restate', 'retract'] }),
    adjustmentTime: timestamp('adjustment_time', { withTimezone: true }),
    heldUntil: timestamp('held_until', { withTimezone: true }),
    /** After apply: the ledger row this became (conversion or adjustment id). */
    ledgerId: bigint('ledger_id', { mode: 'number' }),
  },
  (t) => [primaryKey({ columns: [t.uploadId, t.row] }), index('upload_rows_status').on(t.uploadId, t.status)],
);

export type UploadRow = typeof uploadRows.$inferSelect;
export type NewUploadRow = typeof uploadRows.$inferInsert;
