import { type Context, Hono } from 'hono';
import { callAdapters } from '../../../connectors/calltracking/index.ts';
import type { CallAdapter, ProviderRequest } from '../../../connectors/calltracking/types.ts';
import { isUuid } from '../../domain/identifiers.ts';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { Secrets } from '../../secrets.ts';
import type { ServiceContext } from '../../services/context.ts';
import {
  authenticate,
  createGroupCommit,
  createSourceCache,
  eventRows,
} from '../../services/webhook-intake.ts';
import { payloadTooLarge, readBody } from '../body.ts';
import { problem } from '../problem.ts';

/** Largest webhook body: a call is a few KB (CTM's whole call object with touchpoints stays under 64 KB). */
export const maxWebhookBytes = 256 * 1024;

export interface WebhookRouteDeps {
  ctx: ServiceContext;
  secrets: Secrets;
  log: Logger;
  /** Told after events were committed (serve wakes the processor). */
  onStored?: () => void;
}

const tooLarge = () =>
  payloadTooLarge(
    maxWebhookBytes,
    'The webhook body',
    'A call delivery is a few KB; check what the provider sends.',
  );

/**
 * POST (and GET where the provider sends GET) /webhooks/<provider>/:id for every provider in the
 * registry, at explicit paths (other /webhooks/… routes belong to others). In this order: the size limit
 * (413), the source (404, saying nothing more), authentication over the raw bytes before anything is
 * parsed (401, nothing stored), the adapter's parse (400 with its reason), the events committed, 200.
 */
export function webhookRoutes({ ctx, secrets, log, onStored }: WebhookRouteDeps) {
  const app = new Hono();
  const lookup = createSourceCache(ctx.database, secrets, ctx.now);
  const commit = createGroupCommit(ctx.database);
  for (const adapter of Object.values(callAdapters)) {
    const handler = receive(adapter, { ctx, lookup, commit, log, onStored });
    for (const method of adapter.methods) app.on(method, `/webhooks/${adapter.provider}/:id`, handler);
  }
  return app;
}

function receive(
  adapter: CallAdapter,
  deps: {
    ctx: ServiceContext;
    lookup: ReturnType<typeof createSourceCache>;
    commit: ReturnType<typeof createGroupCommit>;
    log: Logger;
    onStored?: () => void;
  },
) {
  return async function receiveWebhook(c: Context) {
    const body = await readBody(c, maxWebhookBytes, tooLarge);
    const id = c.req.param('id') ?? '';
    const found = isUuid(id) ? await deps.lookup(id, adapter.provider) : undefined;
    if (!found) return problem(c, 'not_found', 'No webhook source here.');
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    const query: Record<string, string> = {};
    for (const [k, v] of new URL(c.req.url).searchParams) if (!(k in query)) query[k] = v;
    const request: ProviderRequest = { method: c.req.method as 'GET' | 'POST', headers, body, query };
    const now = deps.ctx.now();
    const auth = authenticate(adapter, found, request, now);
    if (!auth.ok) return problem(c, 'unauthorized', `The webhook is not authenticated: ${auth.reason}`);
    const parsed = adapter.parse(request, { fields: found.source.fields, timeZone: found.source.timeZone });
    if (!parsed.ok) throw new AppError('bad_request', parsed.reason);
    try {
      await deps.commit.add(eventRows(found.source.id, request, parsed.calls, now));
    } catch (err) {
      if (isForeignKeyViolation(err)) return problem(c, 'not_found', 'No webhook source here.');
      throw err;
    }
    deps.onStored?.();
    return c.json({ received: Math.max(1, parsed.calls.length) });
  };
}

function isForeignKeyViolation(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e)
    if (e.code === '23503') return true;
  return false;
}
