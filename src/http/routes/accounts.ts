import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { resumeAccount } from '../../services/account-resume.ts';
import { accountView, getAccount, listAccounts } from '../../services/accounts.ts';
import type { ServiceContext } from '../../services/context.ts';
import { validationError } from '../../services/zod-error.ts';
import { jsonBody } from '../json-body.ts';
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

const resumeInput = z
  .object({ force: z.boolean({ error: 'force must be true or false' }).optional() })
  .strict();

/**
 * Accounts, never with a secret (only `hasRefreshToken`); registering is a CLI job for now. POST
 * …/:id/resume lifts a pause once its cause is fixed.
 */
export function accountRoutes(ctx: ServiceContext) {
  return new Hono()
    .get('/', async (c) => c.json({ accounts: await listAccounts({ ctx }) }))
    .get('/:id', async (c) => c.json(accountView(await getAccount({ ctx, id: accountRef(c) }))))
    .post('/:id/resume', async (c) => {
      const idOrRef = accountRef(c);
      // The body is optional: none lifts an account-error pause; `{ "force": true }` a throttling one too.
      const body =
        c.req.header('content-length') === '0' || !c.req.header('content-type') ? {} : await jsonBody(c);
      const parsed = resumeInput.safeParse(body);
      if (!parsed.success) throw validationError(parsed.error, 'resume request');
      return c.json(await resumeAccount({ ctx, idOrRef, force: parsed.data.force === true }));
    });
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
  {
    method: 'post',
    path: '/accounts/:id/resume',
    tag: 'accounts',
    summary: "Lift the account's pause now (its cause is fixed)",
    description:
      'Clears `pausedUntil` and `pauseReason`: the submitter sends the queued rows on its next pass. A pause for throttling (117, 429) is lifted only with `{ "force": true }`. Answers the account with `resumed` (false: it was not paused) and `message`.',
    params: accountParam,
    body: { required: false, content: { 'application/json': { schema: resumeInput } } },
    responses: {
      200: { description: 'The account, with `resumed` and `message`.', schema: jsonObject },
      404: { description: 'No such account.' },
      409: { description: 'Paused for throttling, and no `force`: says when the pause ends.' },
    },
  },
];
