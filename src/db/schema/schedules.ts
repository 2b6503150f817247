import { sql } from 'drizzle-orm';
import { boolean, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * A scheduled import: a CSV or XLSX file fetched from an HTTPS, HTTP, SFTP or FTP(S) location on a
 * schedule and imported through the upload pipeline. Its password or private key is stored encrypted
 * (src/secrets.ts). `next_run_at` is also the claim: a process runs a due schedule only after moving
 * `next_run_at` from the due time it read (compare-and-set), so one due time gives one run however many
 * processes share the database.
 */
export const schedules = pgTable(
  'schedules',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    customerId: text('customer_id').notNull().default('default'),
    name: text('name').notNull(),
    /** The file's URL without credentials (https, http, sftp, ftp, ftps). */
    url: text('url').notNull(),
    username: text('username'),
    /** The password or the private key, encrypted; which one says `secret_kind`. */
    secretEnc: text('secret_enc'),
    secretKind: text('secret_kind', { enum: ['password', 'private_key'] }),
    /** SFTP: SHA-256 fingerprint (base64) of the host key seen when the schedule was saved. */
    hostKey: text('host_key'),
    kind: text('kind', { enum: ['conversions', 'adjustments'] }).notNull(),
    /** The spec as normalised: hourly, daily HH:MM, weekly DAY HH:MM, cron "EXPR". */
    spec: text('spec').notNull(),
    /** IANA zone the spec is read in. */
    timeZone: text('time_zone').notNull().default('UTC'),
    paused: boolean('paused').notNull().default(false),
    nextRunAt: timestamp('next_run_at', { withTimezone: true }).notNull(),
    /** SHA-256 of the bytes last imported: the same bytes again are a run recorded as unchanged. */
    lastContentHash: text('last_content_hash'),
    /** Failed runs in a row (the backoff's exponent); 0 after a run that read the source. */
    failures: integer('failures').notNull().default(0),
    lastError: text('last_error'),
    lastRunAt: timestamp('last_run_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('schedules_name_key').on(t.customerId, t.name),
    index('schedules_due_idx').on(t.nextRunAt).where(sql`not ${t.paused}`),
  ],
);

export type Schedule = typeof schedules.$inferSelect;
