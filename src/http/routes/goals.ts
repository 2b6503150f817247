import type { Context } from 'hono';
import { Hono } from 'hono';
import type { ServiceContext } from '../../services/context.ts';
import { createGoal, getGoal, goalView, listGoals, updateGoal } from '../../services/goals.ts';
import { jsonBody } from '../json-body.ts';
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
