import { Hono } from 'hono';
import type { Account } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import type { MsadsClient } from '../../msads/client.ts';
import { MsadsError } from '../../msads/client.ts';
import { autoTagging } from '../../services/auto-tagging.ts';
import type { ServiceContext } from '../../services/context.ts';
import { jsonObject, type RouteDoc } from '../openapi.ts';
import { accountParam, accountRef } from './accounts.ts';

/**
 * GET /api/v1/accounts/:id/auto-tagging reads MSCLKIDAutoTaggingEnabled from Microsoft; POST turns it on.
 * Both answer with the account view (its `autoTagging` and `autoTaggingWarning`).
 */
export function autoTaggingRoutes(ctx: ServiceContext, clientFor?: (account: Account) => MsadsClient) {
  const run = async (accountId: string, enable: boolean) => {
    if (!clientFor)
      throw new AppError('service_unavailable', 'This instance cannot reach Microsoft Advertising.');
    try {
      return await autoTagging({ ctx, accountId, client: clientFor, enable });
    } catch (err) {
      if (err instanceof MsadsError) throw new AppError('service_unavailable', err.message);
      throw err;
    }
  };
  return new Hono()
    .get('/:id/auto-tagging', async (c) => c.json(await run(accountRef(c), false)))
    .post('/:id/auto-tagging', async (c) => c.json(await run(accountRef(c), true)));
}

const taggingResponses = {
  200: { description: 'The account view with `autoTagging` and `autoTaggingWarning`.', schema: jsonObject },
  404: { description: 'No such account.' },
};

export const autoTaggingDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/accounts/:id/auto-tagging',
    tag: 'accounts',
    summary: 'Read MSCLKID auto-tagging from Microsoft',
    params: accountParam,
    responses: taggingResponses,
  },
  {
    method: 'post',
    path: '/accounts/:id/auto-tagging',
    tag: 'accounts',
    summary: 'Turn MSCLKID auto-tagging on',
    params: accountParam,
    responses: taggingResponses,
  },
];
