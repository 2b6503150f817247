import type { Context } from 'hono';
import { Hono } from 'hono';
import type { ConnectorRun } from '../../db/schema/index.ts';
import type { Logger } from '../../log.ts';
import type { Secrets } from '../../secrets.ts';
import { syncSoon } from '../../services/connector-schedule.ts';
import { syncConnector } from '../../services/connector-sync.ts';
import {
  addConnector,
  connectorView,
  type DealSourceFactory,
  getConnector,
  listConnectors,
  listRuns,
  removeConnector,
  testConnector,
  updateConnector,
} from '../../services/connectors.ts';
import type { ServiceContext } from '../../services/context.ts';
import { jsonBody } from '../json-body.ts';
import { oneOf, pathParam, plainText, queryParams, wholeNumber } from '../params.ts';

/** A connector's id or exact name (at most 100 characters). */
function connectorRef(c: Context): string {
  return pathParam(
    c,
    'idOrName',
    plainText(100),
    (value) =>
      `No connector ${JSON.stringify(value.slice(0, 120))}. List connectors with GET /api/v1/connectors.`,
  );
}

export function runView(r: ConnectorRun) {
  return {
    id: r.id,
    trigger: r.trigger,
    mode: r.mode,
    status: r.status,
    counts: r.counts,
    error: r.error,
    startedAt: r.startedAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
  };
}

/**
 * /api/v1/connectors: CRUD, test, sync, runs. Secrets go in (in `secrets` of the body) and never come
 * out: a connector is shown with the names of the secrets it holds.
 */
export function connectorRoutes(
  ctx: ServiceContext,
  deps: { secrets: Secrets; log: Logger; sources?: DealSourceFactory },
) {
  const { secrets, log, sources } = deps;
  const view = (c: Parameters<typeof connectorView>[0]) => connectorView(c, secrets);
  return new Hono()
    .get('/', async (c) => c.json({ connectors: (await listConnectors({ ctx })).map(view) }))
    .post('/', async (c) => c.json(view(await addConnector({ ctx, secrets, input: await jsonBody(c) })), 201))
    .get('/:idOrName', async (c) => c.json(view(await getConnector({ ctx, idOrName: connectorRef(c) }))))
    .patch('/:idOrName', async (c) =>
      c.json(view(await updateConnector({ ctx, idOrName: connectorRef(c), patch: await jsonBody(c) }))),
    )
    .delete('/:idOrName', async (c) => {
      await removeConnector({ ctx, idOrName: connectorRef(c) });
      return c.body(null, 204);
    })
    .post('/:idOrName/test', async (c) =>
      c.json(
        await testConnector({ ctx, secrets, idOrName: connectorRef(c), ...(sources ? { sources } : {}) }),
      ),
    )
    .post('/:idOrName/sync', async (c) => {
      const idOrName = connectorRef(c);
      const q = queryParams(c, { full: oneOf(['true', 'false']), wait: oneOf(['true', 'false']) });
      const full = q.full === 'true';
      if (q.wait === 'false') {
        const connector = await getConnector({ ctx, idOrName });
        void syncSoon({
          ctx,
          secrets,
          log,
          id: connector.id,
          trigger: 'api',
          ...(sources ? { sources } : {}),
        });
        return c.json({ accepted: true, runs: `/api/v1/connectors/${connector.id}/runs` }, 202);
      }
      const report = await syncConnector({
        ctx,
        secrets,
        id: idOrName,
        full,
        trigger: 'api',
        ...(sources ? { sources } : {}),
      });
      return c.json(report);
    })
    .get('/:idOrName/runs', async (c) => {
      const q = queryParams(c, { limit: wholeNumber(1, 200) });
      const runs = await listRuns({ ctx, idOrName: connectorRef(c), limit: q.limit ?? 20 });
      return c.json({ runs: runs.map(runView) });
    });
}
