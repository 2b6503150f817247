import { index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { schedules } from './schedules.ts';
import { uploads } from './uploads.ts';

/** One run of a schedule: when, how it ended, and the upload it made (whose results download as any upload's). */
export const scheduleRuns = pgTable(
  'schedule_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    scheduleId: uuid('schedule_id')
      .notNull()
      .references(() => schedules.id, { onDelete: 'cascade' }),
    /** 'schedule': due in `closeloop serve`; 'manual': schedules run / POST …/run. */
    trigger: text('trigger', { enum: ['schedule', 'manual'] }).notNull(),
    /** The due time this run was for (scheduled runs). */
    dueAt: timestamp('due_at', { withTimezone: true }),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    /** running → imported (through the upload pipeline) | unchanged (same bytes as last time) | failed. */
    outcome: text('outcome', { enum: ['running', 'imported', 'unchanged', 'failed'] }).notNull(),
    /** Uploads are deleted after their 180 days; the run stays, without its upload. */
    uploadId: uuid('upload_id').references(() => uploads.id, { onDelete: 'set null' }),
    bytes: integer('bytes'),
    contentHash: text('content_hash'),
    /** Why the source could not be read (failure word and message). */
    errorCode: text('error_code'),
    error: text('error'),
  },
  (t) => [index('schedule_runs_schedule_idx').on(t.scheduleId, t.startedAt)],
);

export type ScheduleRun = typeof scheduleRuns.$inferSelect;
