import { and, desc, eq, lt } from 'drizzle-orm';
import { queryVia } from '../db/client.ts';
import { accounts, type Submission, submissions } from '../db/schema/index.ts';
import { parseApiTime } from '../domain/time.ts';
import { AppError } from '../errors.ts';
import { retryFailed } from '../submit/maintenance.ts';
import { requeueRejectedByCall } from '../submit/requeue.ts';
import type { ServiceContext } from './context.ts';
import { isUuid } from './ids.ts';

export interface SubmissionView {
  id: string;
  accountId: string;
  account: string | null;
  /** True when the call went to the built-in emulator: nothing reached Microsoft. */
  dryRun: boolean;
  operation: 'conversions' | 'adjustments';
  items: number;
  accepted: number;
  rejected: number;
  retried: number;
  outcome: Submission['outcome'];
  httpStatus: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  trackingId: string | null;
  worker: string;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
}

/** The calls made to Microsoft, newest first; page with `before` (the startedAt of the last one seen). */
export async function listSubmissions({
  ctx,
  limit = 100,
  before,
  accountId,
}: {
  ctx: ServiceContext;
  limit?: number;
  before?: string | Date;
  accountId?: string;
}): Promise<SubmissionView[]> {
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new AppError('bad_request', `limit must be 1 to 1000; got ${limit}.`);
  const beforeDate = typeof before === 'string' ? parseApiTime(before) : { ok: true as const, value: before };
  if (!beforeDate.ok) throw new AppError('bad_request', `before: ${beforeDate.message}`);
  if (accountId !== undefined && !isUuid(accountId))
    throw new AppError('bad_request', `account must be an account id (a UUID); got "${accountId}".`);
  const rows = await ctx.database.db
    .select({ s: submissions, name: accounts.name, target: accounts.target })
    .from(submissions)
    .leftJoin(accounts, eq(accounts.id, submissions.accountId))
    .where(
      and(
        eq(submissions.customerId, ctx.customerId),
        beforeDate.value ? lt(submissions.startedAt, beforeDate.value) : undefined,
        accountId ? eq(submissions.accountId, accountId) : undefined,
      ),
    )
    .orderBy(desc(submissions.startedAt))
    .limit(limit);
  return rows.map(({ s, name, target }) => ({
    id: s.id,
    accountId: s.accountId,
    account: name,
    dryRun: target === 'emulator',
    operation: s.operation,
    items: s.items,
    accepted: s.accepted,
    rejected: s.rejected,
    retried: s.retried,
    outcome: s.outcome,
    httpStatus: s.httpStatus,
    errorCode: s.errorCode,
    errorMessage: s.errorMessage,
    trackingId: s.trackingId,
    worker: s.worker,
    startedAt: s.startedAt.toISOString(),
    finishedAt: s.finishedAt?.toISOString() ?? null,
    durationMs: s.finishedAt ? s.finishedAt.getTime() - s.startedAt.getTime() : null,
  }));
}

/**
 * Rows that failed after their last attempt go back to the queue with fresh attempts. With
 * `rejectedByCall`, so do the rows an earlier release rejected because a whole call failed (see
 * src/submit/requeue.ts); `queued` counts both, `rejectedByCall` the latter.
 */
export async function retryFailedRows({
  ctx,
  uploadId,
  rejectedByCall = false,
}: {
  ctx: ServiceContext;
  uploadId?: string;
  rejectedByCall?: boolean;
}): Promise<{ queued: number; rejectedByCall?: number }> {
  if (uploadId !== undefined && !isUuid(uploadId))
    throw new AppError('bad_request', `uploadId must be an upload id (a UUID); got "${uploadId}".`);
  const scope = { now: ctx.now(), ...(uploadId ? { uploadId } : {}) };
  return ctx.database.db.transaction(async (tx) => {
    const database = { ...ctx.database, query: queryVia(tx) };
    const failed = await retryFailed(database, scope);
    if (!rejectedByCall) return { queued: failed };
    const rejected = await requeueRejectedByCall(database, scope);
    return { queued: failed + rejected, rejectedByCall: rejected };
  });
}
