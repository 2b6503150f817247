import { Hono } from 'hono';
import type { ServiceContext } from '../../services/context.ts';
import { queueStatus, type StatusSetup } from '../../services/status.ts';
import { jsonObject, type RouteDoc } from '../openapi.ts';

/** GET /api/v1/status: the database, the target, and per account and goal what waits and why. */
export function statusRoutes(ctx: ServiceContext, setup: StatusSetup) {
  return new Hono().get('/status', async (c) => c.json(await queueStatus({ ctx, setup })));
}

export const statusDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/status',
    tag: 'ledger',
    summary: 'The queue: per account and goal, rows by state, what is held and until when',
    responses: { 200: { description: 'The status.', schema: jsonObject } },
  },
];
