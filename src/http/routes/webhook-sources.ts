import type { Context } from 'hono';
import { Hono } from 'hono';
import type { Secrets } from '../../secrets.ts';
import type { ServiceContext } from '../../services/context.ts';
import {
  createWebhookSource,
  getWebhookSource,
  listWebhookEvents,
  listWebhookSources,
  removeWebhookSource,
  rotateWebhookToken,
  updateWebhookSource,
  webhookEndpoint,
  webhookEventView,
  webhookSourceInput,
  webhookSourcePatch,
  webhookSourceView,
} from '../../services/webhook-sources.ts';
import { jsonBody } from '../json-body.ts';
import { jsonObject, type RouteDoc } from '../openapi.ts';
import { pathParam, plainText, queryParams, wholeNumber } from '../params.ts';

function sourceRef(c: Context): string {
  return pathParam(
    c,
    'id',
    plainText(100),
    (v) => `No webhook source ${JSON.stringify(v.slice(0, 120))}. List them with GET /api/v1/webhooks.`,
  );
}

/**
 * /api/v1/webhooks: call-tracking webhook sources (CRUD) and their events. Secrets are write-only: a
 * source shows whether it has one, never the value; the endpoint URL (with its token, for providers
 * that cannot sign) is returned by the create call only.
 */
export function webhookSourceRoutes(ctx: ServiceContext, secrets: Secrets, publicUrl: string) {
  return new Hono()
    .get('/', async (c) =>
      c.json({
        webhooks: (await listWebhookSources({ ctx })).map((r) => webhookSourceView(r.source, r.goalName)),
      }),
    )
    .post('/', async (c) => {
      const source = await createWebhookSource({ ctx, secrets, input: await jsonBody(c) });
      const { goalName } = await getWebhookSource({ ctx, idOrName: source.id });
      return c.json(
        { ...webhookSourceView(source, goalName), endpoint: webhookEndpoint(source, secrets, publicUrl) },
        201,
      );
    })
    .get('/:id', async (c) => {
      const { source, goalName } = await getWebhookSource({ ctx, idOrName: sourceRef(c) });
      return c.json(webhookSourceView(source, goalName));
    })
    .patch('/:id', async (c) => {
      const { source, goalName } = await updateWebhookSource({
        ctx,
        secrets,
        idOrName: sourceRef(c),
        patch: await jsonBody(c),
      });
      return c.json(webhookSourceView(source, goalName));
    })
    .delete('/:id', async (c) => {
      await removeWebhookSource({ ctx, idOrName: sourceRef(c) });
      return c.body(null, 204);
    })
    .get('/:id/endpoint', async (c) => {
      const { source } = await getWebhookSource({ ctx, idOrName: sourceRef(c) });
      c.header('cache-control', 'no-store');
      return c.json(webhookEndpoint(source, secrets, publicUrl));
    })
    .post('/:id/rotate-token', async (c) => {
      const source = await rotateWebhookToken({ ctx, secrets, idOrName: sourceRef(c) });
      c.header('cache-control', 'no-store');
      return c.json(webhookEndpoint(source, secrets, publicUrl));
    })
    .get('/:id/events', async (c) => {
      const q = queryParams(c, {
        limit: wholeNumber(1, 1000),
        before: wholeNumber(1, Number.MAX_SAFE_INTEGER),
      });
      const { events } = await listWebhookEvents({
        ctx,
        idOrName: sourceRef(c),
        limit: q.limit ?? 100,
        before: q.before,
      });
      return c.json({ events: events.map(webhookEventView) });
    });
}

const eventQuery = { limit: wholeNumber(1, 1000), before: wholeNumber(1, Number.MAX_SAFE_INTEGER) };
const sourceParam = {
  id: { description: "The source's id (a UUID) or its name.", schema: plainText(100) },
};
const oneSource = {
  200: { description: 'The source (no secret, no token).', schema: jsonObject },
  404: { description: 'No such source.' },
};

export const webhookSourceDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/webhooks',
    tag: 'webhooks',
    summary: 'List call-tracking webhook sources',
    responses: {
      200: { description: '`{ webhooks: [...] }`, without secrets or tokens.', schema: jsonObject },
    },
  },
  {
    method: 'post',
    path: '/webhooks',
    tag: 'webhooks',
    summary: 'Add a call-tracking webhook source',
    description:
      'The answer carries `endpoint.url`, what to paste into the provider (with its secret token for providers that cannot sign); `GET /webhooks/:id/endpoint` gives it again.',
    body: { content: { 'application/json': { schema: webhookSourceInput } } },
    responses: {
      201: { description: 'The source and its endpoint.', schema: jsonObject },
      409: { description: 'A source with this name exists.' },
      422: { description: 'Unknown provider or goal, missing secret; `detail` says which.' },
    },
  },
  {
    method: 'get',
    path: '/webhooks/:id',
    tag: 'webhooks',
    summary: 'Read a webhook source',
    params: sourceParam,
    responses: oneSource,
  },
  {
    method: 'patch',
    path: '/webhooks/:id',
    tag: 'webhooks',
    summary: "Change a webhook source's settings or secrets",
    params: sourceParam,
    body: { content: { 'application/json': { schema: webhookSourcePatch } } },
    responses: { ...oneSource, 422: { description: 'The change is not valid.' } },
  },
  {
    method: 'delete',
    path: '/webhooks/:id',
    tag: 'webhooks',
    summary: 'Remove a webhook source and its events (its conversions stay in the ledger)',
    params: sourceParam,
    responses: { 204: { description: 'Removed.' }, 404: { description: 'No such source.' } },
  },
  {
    method: 'get',
    path: '/webhooks/:id/endpoint',
    tag: 'webhooks',
    summary: "A source's endpoint again: what to paste into the provider",
    description:
      '`{ id, path, url }`; `url` carries the secret token for providers that cannot sign, and is null for polled providers.',
    params: sourceParam,
    responses: {
      200: { description: '`{ id, path, url }`', schema: jsonObject },
      404: { description: 'No such source.' },
    },
  },
  {
    method: 'post',
    path: '/webhooks/:id/rotate-token',
    tag: 'webhooks',
    summary: 'A new secret token for a source: the old URL stops working within 10 s',
    params: sourceParam,
    responses: {
      200: { description: 'The new endpoint, `{ id, path, url }`.', schema: jsonObject },
      404: { description: 'No such source.' },
      409: { description: 'The provider signs (CallTrackingMetrics) or is polled: it has no token.' },
    },
  },
  {
    method: 'get',
    path: '/webhooks/:id/events',
    tag: 'webhooks',
    summary: "A source's received calls, newest first, with their outcome and reason",
    params: sourceParam,
    query: eventQuery,
    responses: {
      200: { description: '`{ events: [...] }`', schema: jsonObject },
      404: { description: 'No such source.' },
    },
  },
];
