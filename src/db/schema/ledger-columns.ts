import { sql } from 'drizzle-orm';
import { bigint, integer, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { conversionStates } from '../../domain/ledger-states.ts';

// Domain vocabulary, kept importable from here: the CLI reads it without loading drizzle.
export { type ConversionState, conversionStates } from '../../domain/ledger-states.ts';

/**
 * What every ledger row has, conversion or adjustment: its state, why it is in it, where it came from,
 * and its sending attempts. A function, because a column builder belongs to one table.
 */
export function ledgerColumns() {
  return {
    state: text('state', { enum: conversionStates }).notNull(),
    /** Held rows are released at this instant (goal 2 hours old, click 1 hour old). */
    heldUntil: timestamp('held_until', { withTimezone: true }),
    /** Why the row is in its state: expired reason, Microsoft's code and name, what to fix. */
    errorCode: text('error_code'),
    errorName: text('error_name'),
    message: text('message'),
    duplicateOf: bigint('duplicate_of', { mode: 'number' }),
    source: text('source', { enum: ['file', 'api', 'crm', 'call'] }).notNull(),
    /** Where it came from: "upload:<id>:row:<n>", "api:<request id>:<index>", a CRM deal id, a call id. */
    sourceRef: text('source_ref').notNull(),
    /** The upload row it came from (files and API batches): results are read through this pair. */
    uploadId: uuid('upload_id'),
    uploadRow: integer('upload_row'),
    attempts: integer('attempts').notNull().default(0),
    /** A row whose last send failed transiently is not claimed again before this instant (backoff). */
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    /**
     * When a queued row may be sent (graphile-worker's run_at): the end of its backoff, else 1970 — due
     * at once, whatever the clocks of the processes (created_at would make a row wait out any skew
     * between the database's clock and the submitter's). Never null, so the claim is one index range
     * (`run_at <= now`) where `next_attempt_at is null or next_attempt_at <= now` was a filter over every
     * queued row. Generated, so no writer of next_attempt_at can leave it behind.
     */
    runAt: timestamp('run_at', { withTimezone: true })
      .notNull()
      .generatedAlwaysAs(sql`coalesce(next_attempt_at, '1970-01-01T00:00:00Z'::timestamptz)`),
    /** Set while 'submitting': a claim older than the claim timeout is swept back to 'queued'. */
    claimedAt: timestamp('claimed_at', { withTimezone: true }),
    /** The submission (API call) that carries or last carried the row; also the claim's fencing token. */
    submissionId: uuid('submission_id'),
    /** When Microsoft accepted it. */
    acceptedAt: timestamp('accepted_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  };
}
