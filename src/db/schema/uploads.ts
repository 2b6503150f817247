import { integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** One uploaded (or scheduled) file: previewed first, applied on request; results kept 180 days. */
export const uploads = pgTable('uploads', {
  id: uuid('id').primaryKey().defaultRandom(),
  customerId: text('customer_id').notNull().default('default'),
  kind: text('kind', { enum: ['conversions', 'adjustments'] }).notNull(),
  /** 'file' for uploaded or scheduled files; 'api' for a batch posted to the JSON API; 'crm', 'call' for connectors and call webhooks. */
  source: text('source', { enum: ['file', 'api', 'crm', 'call'] })
    .notNull()
    .default('file'),
  filename: text('filename').notNull(),
  status: text('status', {
    enum: ['previewing', 'previewed', 'applying', 'applied', 'applied_with_errors', 'failed'],
  }).notNull(),
  /** The Parameters row's TimeZone, as written. */
  timeZone: text('time_zone'),
  /** A problem with the whole file (e.g. a missing column): code and message. */
  errorCode: text('error_code'),
  errorMessage: text('error_message'),
  /** Header columns that closeloop did not recognise (reported, not fatal). */
  unknownColumns: jsonb('unknown_columns').$type<{ name: string; column: number }[]>().notNull().default([]),
  totalRows: integer('total_rows').notNull().default(0),
  /** Counts per row outcome, e.g. { queued: 10, rejected: 2 }. */
  counts: jsonb('counts').$type<Record<string, number>>().notNull().default({}),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  appliedAt: timestamp('applied_at', { withTimezone: true }),
  /** Results are downloadable for 180 days (Microsoft's own retention for upload results). */
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
});

export type Upload = typeof uploads.$inferSelect;
