import { setTimeout as sleep } from 'node:timers/promises';
import { and, asc, eq, inArray, lt, lte } from 'drizzle-orm';
import { scheduleRuns, schedules } from '../db/schema/index.ts';
import { nextRunAfter, parseScheduleSpec } from '../domain/schedule-spec.ts';
import type { Logger } from '../log.ts';
import type { ServiceContext } from './context.ts';
import { type RunResult, runSchedule } from './schedule-runs.ts';
import type { ScheduleDeps } from './schedules.ts';

/** Schedules looked at per pass; more due ones wait for the next pass (seconds later). */
const batch = 20;
/**
 * A run still 'running' after this long was stopped with its process (a download takes at most 5
 * minutes, an import of 100,000 rows seconds): it is recorded as failed. Its schedule's next run was
 * set when it was claimed, so nothing is stuck.
 */
const staleRunMs = 60 * 60_000;

/**
 * Run every schedule that is due now, once. Each due schedule is claimed by moving its next_run_at
 * to the next run after now, on condition that it is still due (compare-and-set: with several
 * processes on one PostgreSQL exactly one wins a due time). The next run counts from now, not from the due time, so a
 * service that was down for a week runs a daily schedule once when it is back, not seven times.
 */
export async function runDueSchedules({
  ctx,
  deps,
  log,
}: {
  ctx: ServiceContext;
  deps: ScheduleDeps;
  log?: Logger;
}): Promise<RunResult[]> {
  const now = ctx.now();
  const { db } = ctx.database;
  await db
    .update(scheduleRuns)
    .set({
      outcome: 'failed',
      finishedAt: now,
      errorCode: 'interrupted',
      error: 'The run was interrupted: the process running it stopped. The next run fetches the file again.',
    })
    .where(
      and(
        eq(scheduleRuns.outcome, 'running'),
        lt(scheduleRuns.startedAt, new Date(now.getTime() - staleRunMs)),
        inArray(
          scheduleRuns.scheduleId,
          db.select({ id: schedules.id }).from(schedules).where(eq(schedules.customerId, ctx.customerId)),
        ),
      ),
    );
  const due = await db
    .select()
    .from(schedules)
    .where(
      and(
        eq(schedules.customerId, ctx.customerId),
        eq(schedules.paused, false),
        lte(schedules.nextRunAt, now),
      ),
    )
    .orderBy(asc(schedules.nextRunAt))
    .limit(batch);
  const results: RunResult[] = [];
  for (const candidate of due) {
    const spec = parseScheduleSpec(candidate.spec);
    if (!spec.ok) continue;
    const next = nextRunAfter(spec.value, candidate.timeZone, now);
    const [claimed] = await db
      .update(schedules)
      .set({ nextRunAt: next })
      .where(
        and(
          eq(schedules.id, candidate.id),
          // Still due: a process that claimed it first has moved next_run_at past now. PostgreSQL
          // re-checks this on the row a concurrent claim committed, so only one update matches. (Not
          // "= the due time read": a time written by SQL has microseconds that a JS Date drops.)
          lte(schedules.nextRunAt, now),
          eq(schedules.paused, false),
        ),
      )
      .returning();
    if (!claimed) continue;
    log?.info('scheduled import', { schedule: claimed.name, dueAt: candidate.nextRunAt.toISOString() });
    const result = await runSchedule({
      ctx,
      deps,
      schedule: claimed,
      trigger: 'schedule',
      claim: { dueAt: candidate.nextRunAt, next },
    });
    if (result.run.outcome === 'failed')
      log?.warn('scheduled import failed', { schedule: claimed.name, error: result.run.error });
    results.push(result);
  }
  return results;
}

/**
 * The scheduler of `closeloop serve`: due schedules at start (missed runs, once), then a pass every
 * `intervalMs` until `signal` aborts. Resolves when it has stopped (a run in progress finishes first).
 */
export async function startScheduleRunner({
  ctx,
  deps,
  log,
  signal,
  intervalMs = 30_000,
}: {
  ctx: ServiceContext;
  deps: ScheduleDeps;
  log: Logger;
  signal: AbortSignal;
  intervalMs?: number;
}): Promise<void> {
  while (!signal.aborted) {
    try {
      await runDueSchedules({ ctx, deps, log });
    } catch (err) {
      log.error('scheduled imports: a pass failed; the next pass tries again', err);
    }
    await sleep(intervalMs, undefined, { signal }).catch(() => {});
  }
}
