import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import type { SubmissionOutcome } from '../db/schema/index.ts';
import { ts } from '../db/sql.ts';

/** Every API call is recorded before it is made, and its answer after (time, account, items, outcome, TrackingId). */
export async function startSubmission(
  database: Database,
  input: {
    id: string;
    customerId: string;
    accountId: string;
    operation: 'conversions' | 'adjustments';
    worker: string;
    items: number;
    now: Date;
  },
): Promise<void> {
  await database.query(sql`
    insert into submissions (id, customer_id, account_id, operation, worker, items, outcome, started_at)
    values (${input.id}::uuid, ${input.customerId}, ${input.accountId}::uuid, ${input.operation}, ${input.worker},
            ${input.items}, 'sending', ${ts(input.now)})`);
}

export interface SubmissionResult {
  outcome: Exclude<SubmissionOutcome, 'sending'>;
  accepted?: number;
  rejected?: number;
  retried?: number;
  httpStatus?: number | undefined;
  errorCode?: string | undefined;
  errorMessage?: string | undefined;
  trackingId?: string | undefined;
}

export async function finishSubmission(
  database: Database,
  id: string,
  result: SubmissionResult,
  now: Date,
): Promise<void> {
  await database.query(sql`
    update submissions
       set outcome = ${result.outcome}, accepted = ${result.accepted ?? 0}, rejected = ${result.rejected ?? 0},
           retried = ${result.retried ?? 0}, http_status = ${result.httpStatus ?? null},
           error_code = ${result.errorCode ?? null}, error_message = ${result.errorMessage ?? null},
           tracking_id = ${result.trackingId ?? null}, finished_at = ${ts(now)}
     where id = ${id}::uuid`);
}

/** Keep a long split alive: the claim's rows are still being worked on, not abandoned. */
export async function touchClaim(
  database: Database,
  table: 'conversions' | 'adjustments',
  claimId: string,
  now: Date,
): Promise<void> {
  await database.query(sql`
    update ${sql.raw(table)} set claimed_at = ${ts(now)}
     where submission_id = ${claimId}::uuid and state = 'submitting'`);
}
