import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { type Schedule, type ScheduleRun, scheduleRuns, schedules, type Upload } from '../db/schema/index.ts';
import { nextRunAfter, parseScheduleSpec, retryAt } from '../domain/schedule-spec.ts';
import { AppError } from '../errors.ts';
import { applyUpload } from '../ingest/apply.ts';
import { previewUpload } from '../ingest/preview.ts';
import { fetchSource } from '../ingest/sources/fetch-source.ts';
import { SourceError } from '../ingest/sources/source-error.ts';
import type { ServiceContext } from './context.ts';
import { bytesInput, type ScheduleDeps, scheduleCredentials } from './schedules.ts';

export interface RunResult {
  run: ScheduleRun;
  /** The upload the run made (imported, or refused as a whole), if it got that far. */
  upload: Upload | undefined;
}

interface Trigger {
  trigger: 'schedule' | 'manual';
  /** A scheduled run: the due time it was claimed for and the next_run_at the claim set. */
  claim?: { dueAt: Date; next: Date };
}

/**
 * One run of a schedule: fetch the file; the same bytes as the last import are recorded as unchanged
 * (nothing imported); other bytes go through the upload pipeline as a manual upload does (preview, then
 * apply), so rows already in the ledger are duplicates, not errors, and a growing file adds only its new
 * rows. A source that cannot be read fails the run with its reason, and a scheduled run is tried again
 * with backoff.
 */
export async function runSchedule({
  ctx,
  deps,
  schedule,
  trigger,
  claim,
}: { ctx: ServiceContext; deps: ScheduleDeps; schedule: Schedule } & Trigger): Promise<RunResult> {
  const { db } = ctx.database;
  const startedAt = ctx.now();
  const [run] = await db
    .insert(scheduleRuns)
    .values({ scheduleId: schedule.id, trigger, dueAt: claim?.dueAt ?? null, startedAt, outcome: 'running' })
    .returning();
  let upload: Upload | undefined;
  let bytes: number | undefined;
  let hash: string | undefined;
  try {
    const url = new URL(schedule.url);
    const fetched = await fetchSource(url, scheduleCredentials(schedule, deps.secrets), {
      ...deps.limits,
      ...(schedule.hostKey ? { hostKey: schedule.hostKey } : {}),
    });
    bytes = fetched.bytes.length;
    hash = createHash('sha256').update(fetched.bytes).digest('hex');
    if (hash === schedule.lastContentHash) return await finish({ outcome: 'unchanged' });
    upload = await previewUpload({
      ctx,
      input: bytesInput(fetched.bytes),
      filename: fetched.filename,
      kind: schedule.kind,
    });
    if (upload.status === 'failed')
      return await finish({
        outcome: 'failed',
        errorCode: upload.errorCode ?? 'file_refused',
        error: `The file was refused as a whole: ${upload.errorMessage}`,
      });
    upload = await applyUpload({ ctx, uploadId: upload.id });
    return await finish({ outcome: 'imported' });
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return finish({
      outcome: 'failed',
      errorCode: err instanceof SourceError ? err.failure : err.code,
      error: err.message,
    });
  }

  async function finish(end: {
    outcome: 'imported' | 'unchanged' | 'failed';
    errorCode?: string;
    error?: string;
  }): Promise<RunResult> {
    const finishedAt = ctx.now();
    const failed = end.outcome === 'failed';
    const [done] = await db
      .update(scheduleRuns)
      .set({
        outcome: end.outcome,
        finishedAt,
        uploadId: upload?.id ?? null,
        bytes: bytes ?? null,
        contentHash: hash ?? null,
        errorCode: end.errorCode ?? null,
        error: end.error ?? null,
      })
      .where(eq(scheduleRuns.id, run!.id))
      .returning();
    const failures = failed ? schedule.failures + 1 : 0;
    await db
      .update(schedules)
      .set({
        lastRunAt: startedAt,
        failures,
        lastError: failed ? (end.error ?? null) : null,
        // Only bytes that were imported are "the same as last time": a refused file is read again.
        ...(end.outcome === 'imported' ? { lastContentHash: hash } : {}),
        updatedAt: finishedAt,
      })
      .where(eq(schedules.id, schedule.id));
    if (failed && claim) await scheduleRetry(ctx, schedule, claim.next, failures, finishedAt);
    return { run: done!, upload };
  }
}

/**
 * After a failed scheduled run, bring the next attempt forward to the backoff's time (never past the
 * next regular run). Compare-and-set on the next_run_at the claim wrote: a pause, a resume or a new
 * spec in between wins.
 */
async function scheduleRetry(
  ctx: ServiceContext,
  schedule: Schedule,
  claimedNext: Date,
  failures: number,
  now: Date,
) {
  const spec = parseScheduleSpec(schedule.spec);
  const regular = spec.ok ? nextRunAfter(spec.value, schedule.timeZone, now) : claimedNext;
  const next = retryAt(failures, now, regular < claimedNext ? regular : claimedNext);
  await ctx.database.db
    .update(schedules)
    .set({ nextRunAt: next })
    .where(and(eq(schedules.id, schedule.id), eq(schedules.nextRunAt, claimedNext)));
}
