import { index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * A signed-in dashboard browser. The cookie holds a random token; only its SHA-256 is stored, so a copy
 * of the database opens no session. A row, not a signed cookie: signing out (or revoking the API key it
 * was opened with) ends the session at once on every process sharing the database.
 */
export const dashboardSessions = pgTable(
  'dashboard_sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    customerId: text('customer_id').notNull().default('default'),
    tokenHash: text('token_hash').notNull().unique(),
    /** The synchronizer token every form of this session carries; a POST without it is refused (403). */
    csrfToken: text('csrf_token').notNull(),
    /** Who signed in: the admin password, or an API key (its id; revoking the key ends the session). */
    via: text('via', { enum: ['admin', 'api_key'] }).notNull(),
    apiKeyId: uuid('api_key_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('dashboard_sessions_expires').on(t.expiresAt)],
);

export type DashboardSession = typeof dashboardSessions.$inferSelect;
