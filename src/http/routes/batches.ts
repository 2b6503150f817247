import { Hono } from 'hono';
import { submitBatch } from '../../services/api-batches.ts';
import type { ServiceContext } from '../../services/context.ts';
import { jsonBody } from '../json-body.ts';

/** POST /api/v1/conversions and /api/v1/adjustments: up to 1,000 items each, one outcome per item. */
export function batchRoutes(ctx: ServiceContext) {
  return new Hono()
    .post('/conversions', async (c) =>
      c.json(await submitBatch({ ctx, kind: 'conversions', body: await jsonBody(c) })),
    )
    .post('/adjustments', async (c) =>
      c.json(await submitBatch({ ctx, kind: 'adjustments', body: await jsonBody(c) })),
    );
}
