import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import type { Logger } from '../log.ts';
import { verifyApiKey } from '../services/api-keys.ts';
import type { ServiceContext } from '../services/context.ts';
import { contentType, type MetricsRegistry } from '../services/metrics.ts';
import { problem } from './problem.ts';

/**
 * GET /metrics, Prometheus text format. It needs `Authorization: Bearer <token>`: the token of
 * CLOSELOOP_METRICS_TOKEN (a credential that can read metrics and nothing else) or any API key. Its
 * labels name goals and Microsoft account ids, which are not for everyone who can reach the port.
 */
export function metricsRoutes({
  ctx,
  log,
  metrics,
  metricsToken,
}: {
  ctx: ServiceContext;
  log: Logger;
  metrics: MetricsRegistry;
  metricsToken?: string | undefined;
}) {
  const expected = metricsToken ? digest(metricsToken) : undefined;
  return new Hono().get('/metrics', async (c) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
    const given = m?.[1];
    const allowed =
      given !== undefined &&
      ((expected !== undefined && timingSafeEqual(digest(given), expected)) ||
        (await verifyApiKey({ ctx, key: given })));
    if (!allowed) {
      c.header('WWW-Authenticate', 'Bearer realm="closeloop metrics"');
      return problem(
        c,
        'unauthorized',
        'GET /metrics needs "Authorization: Bearer <token>": the CLOSELOOP_METRICS_TOKEN set where closeloop runs, or an API key (closeloop keys create --name prometheus).',
      );
    }
    const text = await metrics.expose(ctx, (collector, err) =>
      log.error('metrics collector failed', { collector, cause: err }),
    );
    return c.body(text, 200, { 'content-type': contentType, 'cache-control': 'no-store' });
  });
}

/** Equal-length digests, so the comparison takes the same time whatever was sent. */
const digest = (text: string) => createHash('sha256').update(text).digest();
