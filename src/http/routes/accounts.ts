import { Hono } from 'hono';
import { accountView, getAccount, listAccounts } from '../../services/accounts.ts';
import type { ServiceContext } from '../../services/context.ts';

/** Accounts, read-only, never with a secret (only `hasRefreshToken`); registering is a CLI job for now. */
export function accountRoutes(ctx: ServiceContext) {
  return new Hono()
    .get('/', async (c) => c.json({ accounts: await listAccounts({ ctx }) }))
    .get('/:id', async (c) => c.json(accountView(await getAccount({ ctx, id: c.req.param('id') }))));
}
