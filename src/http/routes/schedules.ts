import type { Context } from 'hono';
import { Hono } from 'hono';
import type { ServiceContext } from '../../services/context.ts';
import { runSchedule } from '../../services/schedule-runs.ts';
import {
  addSchedule,
  getSchedule,
  listSchedules,
  previewSource,
  removeSchedule,
  runView,
  type ScheduleDeps,
  scheduleHistory,
  scheduleView,
  updateSchedule,
} from '../../services/schedules.ts';
import { uploadView } from '../../services/uploads.ts';
import { jsonBody } from '../json-body.ts';
import { pathParam, plainText, queryParams, wholeNumber } from '../params.ts';

/** A schedule's id (a UUID) or exact name. */
function scheduleRef(c: Context): string {
  return pathParam(
    c,
    'ref',
    plainText(100),
    (value) =>
      `No schedule ${JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}…` : value)}. List them with GET /api/v1/schedules.`,
  );
}

/**
 * Scheduled imports. POST / is "save and preview" (fetch once, preview every row, apply nothing; a
 * source that cannot be read is a 422 saying why and nothing is saved); POST /preview previews without
 * saving; POST /:ref/run imports now; GET /:ref/runs lists runs with their upload ids, whose results
 * download as any upload's. Bodies are validated by the services' zod schemas; passwords and keys are
 * taken, stored encrypted, and never given back.
 */
export function scheduleRoutes(ctx: ServiceContext, deps: ScheduleDeps) {
  return new Hono()
    .get('/', async (c) => c.json({ schedules: (await listSchedules({ ctx })).map(scheduleView) }))
    .post('/preview', async (c) => {
      const { upload } = await previewSource({ ctx, deps, input: await jsonBody(c) });
      return c.json({ saved: false, upload: uploadView(upload) });
    })
    .post('/', async (c) => {
      const { schedule, upload } = await addSchedule({ ctx, deps, input: await jsonBody(c) });
      return c.json({ schedule: scheduleView(schedule), preview: uploadView(upload) }, 201);
    })
    .get('/:ref', async (c) => c.json(scheduleView(await getSchedule({ ctx, ref: scheduleRef(c) }))))
    .patch('/:ref', async (c) =>
      c.json(scheduleView(await updateSchedule({ ctx, ref: scheduleRef(c), patch: await jsonBody(c) }))),
    )
    .delete('/:ref', async (c) => {
      await removeSchedule({ ctx, ref: scheduleRef(c) });
      return c.body(null, 204);
    })
    .post('/:ref/run', async (c) => {
      const schedule = await getSchedule({ ctx, ref: scheduleRef(c) });
      const { run, upload } = await runSchedule({ ctx, deps, schedule, trigger: 'manual' });
      return c.json({ run: runView(run), upload: upload ? uploadView(upload) : null });
    })
    .get('/:ref/runs', async (c) => {
      const { limit } = queryParams(c, { limit: wholeNumber(1, 500) });
      const { schedule, runs } = await scheduleHistory({
        ctx,
        ref: scheduleRef(c),
        ...(limit ? { limit } : {}),
      });
      return c.json({ schedule: scheduleView(schedule), runs: runs.map(runView) });
    });
}
