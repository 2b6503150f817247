import type { Context } from 'hono';
import { Hono } from 'hono';
import { goalInputSchema, goalPatchSchema } from '../../domain/goal.ts';
import type { ServiceContext } from '../../services/context.ts';
import { createGoal, getGoal, goalView, listGoals, updateGoal } from '../../services/goals.ts';
import { jsonBody } from '../json-body.ts';
import { jsonObject, type RouteDoc } from '../openapi.ts';
import { pathParam, plainText } from '../params.ts';

/** A goal's id (a UUID) or exact name: at most 100 characters, as Microsoft allows in a goal name. */
function goalRef(c: Context): string {
  return pathParam(
    c,
    'idOrName',
    plainText(100),
    (value) =>
      `No goal ${JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}…` : value)} (a goal name has at most 100 characters and no control characters). List goals with GET /api/v1/goals.`,
  );
}

export function goalRoutes(ctx: ServiceContext) {
  return new Hono()
    .get('/', async (c) => c.json({ goals: (await listGoals({ ctx })).map(goalView) }))
    .post('/', async (c) => c.json(goalView(await createGoal({ ctx, input: await jsonBody(c) })), 201))
    .get('/:idOrName', async (c) => c.json(goalView(await getGoal({ ctx, idOrName: goalRef(c) }))))
    .patch('/:idOrName', async (c) =>
      c.json(goalView(await updateGoal({ ctx, idOrName: goalRef(c), patch: await jsonBody(c) }))),
    );
}

const goalParam = {
  idOrName: { description: "The goal's id (a UUID) or its exact name.", schema: plainText(100) },
};
const goal = { 200: { description: 'The goal.', schema: jsonObject }, 404: { description: 'No such goal.' } };

export const goalDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/goals',
    tag: 'goals',
    summary: 'List goals',
    responses: { 200: { description: '`{ goals: [...] }`', schema: jsonObject } },
  },
  {
    method: 'post',
    path: '/goals',
    tag: 'goals',
    summary: 'Create a goal',
    description: 'Microsoft takes conversions for a new goal 2 hours after it is created there.',
    body: { content: { 'application/json': { schema: goalInputSchema } } },
    responses: {
      201: { description: 'The goal created.', schema: jsonObject },
      409: { description: 'A goal with this name exists.' },
      422: { description: 'The goal is not valid; `detail` says why.' },
    },
  },
  {
    method: 'get',
    path: '/goals/:idOrName',
    tag: 'goals',
    summary: 'Read a goal',
    params: goalParam,
    responses: goal,
  },
  {
    method: 'patch',
    path: '/goals/:idOrName',
    tag: 'goals',
    summary: 'Pause or resume a goal, change its window or count type',
    params: goalParam,
    body: { content: { 'application/json': { schema: goalPatchSchema } } },
    responses: { ...goal, 422: { description: 'The change is not valid.' } },
  },
];
