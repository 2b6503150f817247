import { index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Counts of one sync: deals read, conversions, restates, retracts, unchanged, skipped by reason, API calls. */
export interface ConnectorRunCounts {
  dealsRead: number;
  pages: number;
  conversions: number;
  restates: number;
  retracts: number;
  unchanged: number;
  skipped: Record<string, number>;
  /** Ledger rows refused by the checks (e.g. the goal is paused), by error code. */
  rejected: Record<string, number>;
  apiCalls: number;
}

/** One sync of a connector (CLI, HTTP, webhook or schedule): when, how it ended, and what it did. */
export const connectorRuns = pgTable(
  'connector_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    connectorId: uuid('connector_id').notNull(),
    /** What started it: 'cli', 'api', 'schedule', 'webhook'. */
    trigger: text('trigger').notNull(),
    mode: text('mode', { enum: ['incremental', 'full', 'backfill'] }).notNull(),
    status: text('status', { enum: ['running', 'succeeded', 'failed'] }).notNull(),
    counts: jsonb('counts').$type<ConnectorRunCounts>().notNull(),
    error: text('error'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('connector_runs_connector').on(t.connectorId, t.startedAt)],
);

export type ConnectorRun = typeof connectorRuns.$inferSelect;
