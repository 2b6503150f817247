import { sql } from 'drizzle-orm';
import { check, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * A connected CRM (Salesforce, HubSpot …): which goal its won deals feed, its settings (not secret) and
 * secrets (one JSON object, encrypted with src/secrets.ts), where its last sync stopped, and when the
 * next one is due. `serve` claims a due sync by compare-and-set on next_sync_at, so one process runs it.
 */
export const connectors = pgTable(
  'connectors',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    customerId: text('customer_id').notNull().default('default'),
    /** The connector module (connectors/registry.ts): 'salesforce', 'hubspot'. */
    kind: text('kind').notNull(),
    name: text('name').notNull(),
    /** The offline conversion goal won deals become conversions of (by id: a rename follows). */
    goalId: uuid('goal_id').notNull(),
    settings: jsonb('settings').$type<Record<string, unknown>>().notNull(),
    /** The connector's secrets as one JSON object, encrypted (src/secrets.ts). */
    secretsEnc: text('secrets_enc').notNull(),
    /** Opaque to src/: where the last page committed stopped (null: never synced, the next sync is a backfill). */
    cursor: text('cursor'),
    /** Minutes between syncs in `serve`. */
    intervalMinutes: integer('interval_minutes').notNull().default(15),
    nextSyncAt: timestamp('next_sync_at', { withTimezone: true }).notNull().defaultNow(),
    /** A sync holds the connector until this instant (extended per page), so two never run at once. */
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    /** Consecutive failed syncs: the next one waits interval × 2^(failures−1), at most a day. */
    failures: integer('failures').notNull().default(0),
    lastError: text('last_error'),
    lastSyncAt: timestamp('last_sync_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('connectors_customer_name_key').on(t.customerId, t.name),
    check('connectors_interval_range', sql`${t.intervalMinutes} between 1 and 10080`),
  ],
);

export type Connector = typeof connectors.$inferSelect;
