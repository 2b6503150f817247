import { Hono } from 'hono';
import { batchSchemas, submitBatch } from '../../services/api-batches.ts';
import type { ServiceContext } from '../../services/context.ts';
import { jsonBody } from '../json-body.ts';
import { jsonObject, type RouteDoc } from '../openapi.ts';

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

const batchResponses = {
  200: {
    description: '`{ requestId, counts, results: [...] }`: one outcome per item, by index.',
    schema: jsonObject,
  },
  413: { description: 'The body is larger than 4 MiB.' },
  415: { description: 'The body is not JSON.' },
  422: { description: 'The request is not valid (e.g. no items, more than 1,000).' },
};

export const batchDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/conversions',
    tag: 'ledger',
    summary: 'Send up to 1,000 conversions',
    description:
      'Times need an offset or Z. Each item is checked and gets its own outcome; valid items go to the ledger at once.',
    body: { content: { 'application/json': { schema: batchSchemas.conversions } } },
    responses: batchResponses,
  },
  {
    method: 'post',
    path: '/adjustments',
    tag: 'ledger',
    summary: 'Send up to 1,000 adjustments (restate, retract)',
    body: { content: { 'application/json': { schema: batchSchemas.adjustments } } },
    responses: batchResponses,
  },
];
