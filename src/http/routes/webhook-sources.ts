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
  updateWebhookSource,
  webhookEndpoint,
  webhookEventView,
  webhookSourceView,
} from '../../services/webhook-sources.ts';
import { jsonBody } from '../json-body.ts';
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
