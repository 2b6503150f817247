import { index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const submissionOutcomes = [
  /** Claimed and being sent; a row left in this state by a crash is marked abandoned by the sweep. */
  'sending',
  'accepted',
  /** Some items were rejected by Microsoft (PartialErrors), the rest accepted. */
  'partial',
  'rejected',
  /** Microsoft refused the whole request because of one or more items: the batch was split. */
  'split',
  /** Transient failure (0, 5612, 5xx, timeout): the rows wait for their next attempt. */
  'retry',
  /** 117 / HTTP 429: the account pauses, the rows go back to the queue. */
  'throttled',
  /** Credentials or account configuration: the account pauses until fixed; rows stay queued. */
  'account_error',
  'abandoned',
] as const;
export type SubmissionOutcome = (typeof submissionOutcomes)[number];

/** One API call to Microsoft (or the emulator): what was sent, what came back, and its TrackingId. */
export const submissions = pgTable(
  'submissions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    customerId: text('customer_id').notNull().default('default'),
    accountId: uuid('account_id').notNull(),
    operation: text('operation', { enum: ['conversions', 'adjustments'] }).notNull(),
    /** Which process sent it ("host:pid:random"). */
    worker: text('worker').notNull(),
    items: integer('items').notNull(),
    accepted: integer('accepted').notNull().default(0),
    rejected: integer('rejected').notNull().default(0),
    retried: integer('retried').notNull().default(0),
    outcome: text('outcome', { enum: submissionOutcomes }).notNull(),
    httpStatus: integer('http_status'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    trackingId: text('tracking_id'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    index('submissions_started').on(t.customerId, t.startedAt),
    index('submissions_account').on(t.accountId, t.startedAt),
  ],
);

export type Submission = typeof submissions.$inferSelect;
