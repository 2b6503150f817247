import { Hono } from 'hono';
import { z } from 'zod';
import type { ServiceContext } from '../../services/context.ts';
import { listSubmissions, retryFailedRows } from '../../services/submissions.ts';
import { validationError } from '../../services/zod-error.ts';
import { jsonBody } from '../json-body.ts';
import { jsonObject, type RouteDoc } from '../openapi.ts';
import { instant, queryParams, uuid, wholeNumber } from '../params.ts';

const retryInput = z
  .object({ uploadId: z.string().optional(), rejectedByCall: z.boolean().optional() })
  .strict();

const submissionsQuery = { limit: wholeNumber(1, 1000), before: instant, account: uuid('an account') };

/** GET /api/v1/submissions (the calls made to Microsoft) and POST /api/v1/retries (failed rows again). */
export function submissionRoutes(ctx: ServiceContext) {
  return new Hono()
    .get('/submissions', async (c) => {
      const query = queryParams(c, submissionsQuery);
      return c.json({
        submissions: await listSubmissions({
          ctx,
          ...(query.limit !== undefined ? { limit: query.limit } : {}),
          ...(query.before !== undefined ? { before: query.before } : {}),
          ...(query.account !== undefined ? { accountId: query.account } : {}),
        }),
      });
    })
    .post('/retries', async (c) => {
      // An empty body retries every failed row; a JSON body may name one upload, and ask for the rows
      // rejected by a whole-call failure too.
      const body =
        c.req.header('content-length') === '0' || !c.req.header('content-type') ? {} : await jsonBody(c);
      const parsed = retryInput.safeParse(body);
      if (!parsed.success) throw validationError(parsed.error, 'retry request');
      const { uploadId, rejectedByCall } = parsed.data;
      return c.json(
        await retryFailedRows({
          ctx,
          ...(uploadId ? { uploadId } : {}),
          ...(rejectedByCall ? { rejectedByCall } : {}),
        }),
      );
    });
}

export const submissionDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/submissions',
    tag: 'submissions',
    summary: 'The calls made to Microsoft, newest first',
    query: submissionsQuery,
    responses: {
      200: { description: '`{ submissions: [...] }`', schema: jsonObject },
      400: { description: 'A bad query parameter.' },
    },
  },
  {
    method: 'post',
    path: '/retries',
    tag: 'submissions',
    summary: "Queue the failed rows again (all, or one upload's)",
    body: { required: false, content: { 'application/json': { schema: retryInput } } },
    responses: { 200: { description: 'How many rows were queued again.', schema: jsonObject } },
  },
];
