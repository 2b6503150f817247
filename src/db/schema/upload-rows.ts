import { bigint, integer, numeric, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * One data row of an upload, as validated: the normalized values (never a plain email or phone) and the
 * outcome. Before apply the outcome is a preview; apply turns it into ledger rows and final outcomes.
 */
export const uploadRows = pgTable(
  'upload_rows',
  {
    // No foreign key to uploads on purpose: its check trigger cost 16 ms of every 42 ms 2,000-row insert.
    // Rows are deleted with their upload by the code that deletes uploads (failUpload, maintainUploads).
    uploadId: uuid('upload_id').notNull(),
    row: integer('row').notNull(),
    /**
     * The checked outcome: ok (becomes queued when applied) · held · duplicate · rejected · expired. After
     * apply the row's current state is its ledger row's (conversions/adjustments by upload_id, upload_row).
     */
    status: text('status', { enum: ['ok', 'held', 'duplicate', 'rejected', 'expired'] }).notNull(),
    errorCode: text('error_code'),
    errorColumn: text('error_column'),
    message: text('message'),
    notes: text('notes'),
    goalName: text('goal_name'),
    clickId: text('click_id'),
    /** Identity used for duplicates: the click ID, or the hashed email/phone when there is none. */
    matchKey: text('match_key'),
    conversionTime: timestamp('conversion_time', { withTimezone: true }),
    clickTime: timestamp('click_time', { withTimezone: true }),
    value: numeric('value', { precision: 15, scale: 3 }),
    currency: text('currency'),
    /** The row's origin for sources that know it per row (a call: "call:<provider>:<call id>"); null: the upload's. */
    sourceRef: text('source_ref'),
    hashedEmail: text('hashed_email'),
    hashedPhone: text('hashed_phone'),
    adjustmentType: text('adjustment_type', { enum: ['restate', 'retract'] }),
    adjustmentTime: timestamp('adjustment_time', { withTimezone: true }),
    heldUntil: timestamp('held_until', { withTimezone: true }),
    /** Adjustments: the conversion in the ledger that this row adjusts (found at preview). */
    conversionId: bigint('conversion_id', { mode: 'number' }),
  },
  // Only the primary key: every query names the upload, and a second index slowed the bulk insert.
  (t) => [primaryKey({ columns: [t.uploadId, t.row] })],
);

export type UploadRow = typeof uploadRows.$inferSelect;
export type NewUploadRow = typeof uploadRows.$inferInsert;
