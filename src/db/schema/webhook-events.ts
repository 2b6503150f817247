import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  customType,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { webhookSources } from './webhook-sources.ts';

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' });

export const webhookOutcomes = [
  'conversion',
  'duplicate_delivery',
  'correction',
  'retraction',
  'not_qualifying',
  'rejected',
] as const;
export type WebhookOutcome = (typeof webhookOutcomes)[number];

/**
 * One call received from a webhook source (or read by polling), committed before the provider gets its
 * 2xx. The raw request is kept as it arrived; the processor then decides what the call means for the
 * ledger and records the outcome, its reason and the ledger row it made.
 */
export const webhookEvents = pgTable(
  'webhook_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    sourceId: uuid('source_id')
      .notNull()
      .references(() => webhookSources.id, { onDelete: 'cascade' }),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull(),
    /** GET or POST as delivered; POLL for calls read from a pull API. */
    method: text('method', { enum: ['GET', 'POST', 'POLL'] }).notNull(),
    /** Selected headers (content type, user agent, the signature's time), never secrets. */
    headers: jsonb('headers').$type<Record<string, string>>().notNull().default({}),
    body: bytea('body'),
    query: jsonb('query').$type<Record<string, string>>().notNull().default({}),
    /** The adapter's normalized call (times as ISO text); null when the delivery carried no call. */
    call: jsonb('call').$type<Record<string, unknown>>(),
    providerCallId: text('provider_call_id'),
    state: text('state', { enum: ['pending', 'processed'] })
      .notNull()
      .default('pending'),
    outcome: text('outcome', { enum: webhookOutcomes }),
    reason: text('reason'),
    /** The value and currency sent (conversion or Restate). */
    value: numeric('value', { precision: 15, scale: 3 }),
    currency: text('currency'),
    /** The ledger rows it made. */
    conversionId: bigint('conversion_id', { mode: 'number' }),
    adjustmentId: bigint('adjustment_id', { mode: 'number' }),
    /** Where it was staged (its upload row): a processor that died after staging resumes from here. */
    uploadId: uuid('upload_id'),
    uploadRow: integer('upload_row'),
    processedAt: timestamp('processed_at', { withTimezone: true }),
  },
  (t) => [
    index('webhook_events_pending').on(t.sourceId, t.id).where(sql`state = 'pending'`),
    index('webhook_events_source').on(t.sourceId, t.id),
    index('webhook_events_call').on(t.sourceId, t.providerCallId),
    // Idempotency: a call id makes one conversion per source, however often it is delivered.
    uniqueIndex('webhook_events_one_conversion')
      .on(t.sourceId, t.providerCallId)
      .where(sql`outcome = 'conversion'`),
  ],
);

export type WebhookEvent = typeof webhookEvents.$inferSelect;
