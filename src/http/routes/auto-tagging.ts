import { Hono } from 'hono';
import { AppError } from '../../errors.ts';
import type { MsadsClient } from '../../msads/client.ts';
import { MsadsError } from '../../msads/client.ts';
import { checkAutoTagging, enableAutoTagging } from '../../services/auto-tagging.ts';
import type { ServiceContext } from '../../services/context.ts';

/**
 * GET /api/v1/accounts/:id/auto-tagging reads MSCLKIDAutoTaggingEnabled from Microsoft; POST turns it on.
 * Both answer with the account view (its `autoTagging` and `autoTaggingWarning`).
 */
export function autoTaggingRoutes(
  ctx: ServiceContext,
  clientForAccount?: (accountId: string) => Promise<MsadsClient>,
) {
  const client = async (id: string) => {
    if (!clientForAccount)
      throw new AppError('service_unavailable', 'This instance cannot reach Microsoft Advertising.');
    return clientForAccount(id);
  };
  const run = async (fn: () => Promise<unknown>) => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof MsadsError) throw new AppError('service_unavailable', err.message);
      throw err;
    }
  };
  return new Hono()
    .get('/:id/auto-tagging', async (c) => {
      const id = c.req.param('id');
      return c.json(
        await run(async () => checkAutoTagging({ ctx, accountId: id, client: await client(id) })),
      );
    })
    .post('/:id/auto-tagging', async (c) => {
      const id = c.req.param('id');
      return c.json(
        await run(async () => enableAutoTagging({ ctx, accountId: id, client: await client(id) })),
      );
    });
}
