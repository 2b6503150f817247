import { sql } from 'drizzle-orm';
import {
  boolean,
  integer,
  jsonb,
  numeric,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { goals } from './goals.ts';

/**
 * A call-tracking webhook source: one provider account whose calls become conversions of one goal.
 * Its secrets are encrypted with src/secrets.ts: the provider's signing secret (CTM's account secret)
 * or API key (a polled provider's), the URL token that authenticates providers that cannot sign, and
 * optional basic-auth credentials.
 */
export const webhookSources = pgTable(
  'webhook_sources',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    customerId: text('customer_id').notNull().default('default'),
    /** The adapter's name in connectors/calltracking (calltrackingmetrics, invoca, generic, …). */
    provider: text('provider').notNull(),
    name: text('name').notNull(),
    goalId: uuid('goal_id')
      .notNull()
      .references(() => goals.id),
    /** Qualifying: at least this many seconds of total duration (null: no minimum). */
    minDurationSec: integer('min_duration_sec'),
    /** Qualifying: at least this many connected seconds, where the provider reports them. */
    minTalkSec: integer('min_talk_sec'),
    /** Qualifying: only calls the provider reports as answered. */
    answeredOnly: boolean('answered_only').notNull().default(false),
    /** The value sent: from the payload (the goal's default when it has none), or fixed. */
    valueMode: text('value_mode', { enum: ['payload', 'fixed'] })
      .notNull()
      .default('payload'),
    fixedValue: numeric('fixed_value', { precision: 15, scale: 3 }),
    /** The fixed value's currency, or the currency of payload values that carry none. */
    currency: text('currency'),
    /** Field overrides for templated providers: normalized field → the provider's parameter. */
    fields: jsonb('fields').$type<Record<string, string>>().notNull().default({}),
    /** The zone of account-local times without an offset (IANA). */
    timeZone: text('time_zone').notNull().default('UTC'),
    /** Signing secret (CTM) or API key (polled providers), encrypted. */
    secretEnc: text('secret_enc'),
    /** The random token in the URL (?token=) or the x-closeloop-token header, encrypted. */
    tokenEnc: text('token_enc').notNull(),
    /** Optional basic auth, "user:password", encrypted. */
    basicAuthEnc: text('basic_auth_enc'),
    /** Polled providers: the provider's account id and API base URL (tests point it at a fake). */
    accountRef: text('account_ref'),
    baseUrl: text('base_url'),
    pollCursor: text('poll_cursor'),
    /** When the next poll is due; claimed by compare-and-set, so one process polls it. */
    nextPollAt: timestamp('next_poll_at', { withTimezone: true }),
    lastPollError: text('last_poll_error'),
    /** The processor's lease on this source's events: one process turns them into conversions at a time. */
    processingUntil: timestamp('processing_until', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('webhook_sources_name').on(t.customerId, sql`lower(${t.name})`)],
);

export type WebhookSource = typeof webhookSources.$inferSelect;
