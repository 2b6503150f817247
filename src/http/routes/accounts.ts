import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { accountView, getAccount, listAccounts } from '../../services/accounts.ts';
import type { ServiceContext } from '../../services/context.ts';
import { jsonObject, type RouteDoc } from '../openapi.ts';
import { pathParam, uuid } from '../params.ts';

/** closeloop's account id (a UUID) or Microsoft's account id (digits), from the path. */
export const accountIdSchema = z.union([uuid('an account'), z.string().regex(/^\d{1,20}$/)]);

export function accountRef(c: Context): string {
  return pathParam(
    c,
    'id',
    accountIdSchema,
    (id) =>
      `No account ${JSON.stringify(id)} (give closeloop's account id or Microsoft's account id). List accounts with GET /api/v1/accounts.`,
  );
}

/** Accounts, read-only, never with a secret (only `hasRefreshToken`); registering is a CLI job for now. */
export function accountRoutes(ctx: ServiceContext) {
  return new Hono()
    .get('/', async (c) => c.json({ accounts: await listAccounts({ ctx }) }))
    .get('/:id', async (c) => c.json(accountView(await getAccount({ ctx, id: accountRef(c) }))));
}

export const accountParam = {
  id: {
    description: "closeloop's account id (a UUID) or Microsoft's account id (digits).",
    schema: accountIdSchema,
  },
};

export const accountDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/accounts',
    tag: 'accounts',
    summary: 'List accounts (never a secret)',
    responses: { 200: { description: '`{ accounts: [...] }`', schema: jsonObject } },
  },
  {
    method: 'get',
    path: '/accounts/:id',
    tag: 'accounts',
    summary: 'Read an account',
    params: accountParam,
    responses: {
      200: { description: 'The account.', schema: jsonObject },
      404: { description: 'No such account.' },
    },
  },
];
