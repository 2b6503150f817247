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
  scheduleInput,
  schedulePatch,
  scheduleView,
  updateSchedule,
} from '../../services/schedules.ts';
import { uploadView } from '../../services/uploads.ts';
import { jsonBody } from '../json-body.ts';
import { jsonObject, type RouteDoc } from '../openapi.ts';
import { pathParam, plainText, queryParams, wholeNumber } from '../params.ts';

const runsQuery = { limit: wholeNumber(1, 500) };

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
      const { limit } = queryParams(c, runsQuery);
      const { schedule, runs } = await scheduleHistory({
        ctx,
        ref: scheduleRef(c),
        ...(limit ? { limit } : {}),
      });
      return c.json({ schedule: scheduleView(schedule), runs: runs.map(runView) });
    });
}

const scheduleParam = {
  ref: { description: "The schedule's id (a UUID) or its exact name.", schema: plainText(100) },
};
const oneSchedule = {
  200: { description: 'The schedule (its password or key never shown).', schema: jsonObject },
  404: { description: 'No such schedule.' },
};
const unreadable =
  'The body is not valid, or the source cannot be read or its file was refused as a whole; `detail` says why and `details.failure` names the kind of failure.';

export const scheduleDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/schedules',
    tag: 'schedules',
    summary: 'List scheduled imports',
    responses: { 200: { description: '`{ schedules: [...] }`', schema: jsonObject } },
  },
  {
    method: 'post',
    path: '/schedules/preview',
    tag: 'schedules',
    summary: 'Fetch a source once and preview it, saving no schedule',
    body: { content: { 'application/json': { schema: scheduleInput } } },
    responses: {
      200: {
        description: '`{ saved: false, upload }`: every row previewed, nothing applied.',
        schema: jsonObject,
      },
      422: { description: unreadable },
    },
  },
  {
    method: 'post',
    path: '/schedules',
    tag: 'schedules',
    summary: 'Save a scheduled import (fetched and previewed once first)',
    description:
      '`url` is https, http, sftp, ftp or ftps; `every` is `hourly`, `daily HH:MM`, `weekly DAY HH:MM` or `cron "EXPR"`, read in `timeZone` (UTC unless given). Nothing is saved when the source cannot be read.',
    body: { content: { 'application/json': { schema: scheduleInput } } },
    responses: {
      201: {
        description: '`{ schedule, preview }`: the schedule and the previewed upload.',
        schema: jsonObject,
      },
      409: { description: 'A schedule with this name exists.' },
      422: { description: unreadable },
    },
  },
  {
    method: 'get',
    path: '/schedules/:ref',
    tag: 'schedules',
    summary: 'Read a schedule',
    params: scheduleParam,
    responses: oneSchedule,
  },
  {
    method: 'patch',
    path: '/schedules/:ref',
    tag: 'schedules',
    summary: 'Change when a schedule runs or what its file holds; pause or resume it',
    description: 'The URL and credentials are not changed in place: save the new source as a new schedule.',
    params: scheduleParam,
    body: { content: { 'application/json': { schema: schedulePatch } } },
    responses: { ...oneSchedule, 422: { description: 'The change is not valid; `detail` says why.' } },
  },
  {
    method: 'delete',
    path: '/schedules/:ref',
    tag: 'schedules',
    summary: 'Remove a schedule and its runs (its uploads and conversions stay)',
    params: scheduleParam,
    responses: { 204: { description: 'Removed.' }, 404: { description: 'No such schedule.' } },
  },
  {
    method: 'post',
    path: '/schedules/:ref/run',
    tag: 'schedules',
    summary: 'Import now',
    params: scheduleParam,
    responses: {
      200: {
        description:
          '`{ run, upload }`: the run (its outcome and error) and its upload (null when nothing was read).',
        schema: jsonObject,
      },
      404: { description: 'No such schedule.' },
    },
  },
  {
    method: 'get',
    path: '/schedules/:ref/runs',
    tag: 'schedules',
    summary: "A schedule's runs, newest first, with their upload ids",
    params: scheduleParam,
    query: runsQuery,
    responses: {
      200: { description: '`{ schedule, runs }`', schema: jsonObject },
      404: { description: 'No such schedule.' },
    },
  },
];
