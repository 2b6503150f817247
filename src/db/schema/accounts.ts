import { sql } from 'drizzle-orm';
import { boolean, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * A Microsoft Advertising ad account closeloop sends to: the ids that go in the CustomerId and
 * CustomerAccountId headers, its credentials (encrypted at rest, see src/secrets.ts), its health, and the
 * state the submitters share to stay under its rate limit together.
 */
export const accounts = pgTable(
  'accounts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    customerId: text('customer_id').notNull().default('default'),
    name: text('name').notNull(),
    /** 'emulator' is the built-in dry run: nothing reaches Microsoft. */
    target: text('target', { enum: ['microsoft', 'emulator'] }).notNull(),
    /** Where the account was configured: the MSADS_* environment, or registered in the database. */
    origin: text('origin', { enum: ['env', 'database', 'dry-run'] }).notNull(),
    isDefault: boolean('is_default').notNull().default(false),
    /** Microsoft's customer (manager) id and ad account id, sent as CustomerId / CustomerAccountId. */
    msCustomerId: text('ms_customer_id').notNull(),
    msAccountId: text('ms_account_id').notNull(),
    /** Campaign Management host; null means the configured default (MSADS_API_BASE_URL). */
    apiBaseUrl: text('api_base_url'),
    oauthTokenUrl: text('oauth_token_url'),
    clientId: text('client_id'),
    clientSecretEnc: text('client_secret_enc'),
    developerTokenEnc: text('developer_token_enc'),
    refreshTokenEnc: text('refresh_token_enc'),
    /** SHA-256 of the MSADS_REFRESH_TOKEN last taken from the environment: a new one replaces the stored one. */
    refreshTokenEnvHash: text('refresh_token_env_hash'),
    accessTokenEnc: text('access_token_enc'),
    accessTokenExpiresAt: timestamp('access_token_expires_at', { withTimezone: true }),
    /** ok · reconsent_needed (invalid_grant: run `closeloop auth login`) · error (see authError). */
    authStatus: text('auth_status', { enum: ['unknown', 'ok', 'reconsent_needed', 'error'] })
      .notNull()
      .default('unknown'),
    authError: text('auth_error'),
    /** MSCLKIDAutoTaggingEnabled as last read from Microsoft (null: not checked yet). */
    autoTagging: boolean('auto_tagging'),
    autoTaggingCheckedAt: timestamp('auto_tagging_checked_at', { withTimezone: true }),
    /** Per-account overrides of the submitter's rate limit (null: the configured default). */
    callsPerMinute: integer('calls_per_minute'),
    /** The next instant a call may start (a shared, database-held schedule across processes). */
    nextCallAt: timestamp('next_call_at', { withTimezone: true }),
    /** No call before this instant: 117 / HTTP 429 throttling, or an account-level error. */
    pausedUntil: timestamp('paused_until', { withTimezone: true }),
    pauseReason: text('pause_reason'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('accounts_ms_account_key').on(t.customerId, t.msAccountId),
    uniqueIndex('accounts_default_key').on(t.customerId).where(sql`is_default`),
  ],
);

export type Account = typeof accounts.$inferSelect;
