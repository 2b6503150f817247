import { Hono } from 'hono';
import type { ServiceContext } from '../../services/context.ts';
import { createGoal, getGoal, goalView, listGoals, updateGoal } from '../../services/goals.ts';
import { jsonBody } from '../json-body.ts';

export function goalRoutes(ctx: ServiceContext) {
  return new Hono()
    .get('/', async (c) => c.json({ goals: (await listGoals({ ctx })).map(goalView) }))
    .post('/', async (c) => c.json(goalView(await createGoal({ ctx, input: await jsonBody(c) })), 201))
    .get('/:idOrName', async (c) =>
      c.json(goalView(await getGoal({ ctx, idOrName: c.req.param('idOrName') }))),
    )
    .patch('/:idOrName', async (c) =>
      c.json(
        goalView(await updateGoal({ ctx, idOrName: c.req.param('idOrName'), patch: await jsonBody(c) })),
      ),
    );
}
