import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import type { ConnectorRun } from '../../db/schema/index.ts';
import type { AddressPolicy } from '../../ingest/sources/address-policy.ts';
import type { Logger } from '../../log.ts';
import type { Secrets } from '../../secrets.ts';
import { syncSoon } from '../../services/connector-schedule.ts';
import { syncConnector } from '../../services/connector-sync.ts';
import {
  addConnector,
  connectorInput,
  connectorKindNames,
  connectorKinds,
  connectorPatch,
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
import { jsonObject, type RouteDoc } from '../openapi.ts';
import { oneOf, pathParam, plainText, queryParams, wholeNumber } from '../params.ts';

const syncQuery = { full: oneOf(['true', 'false']), wait: oneOf(['true', 'false']) };
const runsQuery = { limit: wholeNumber(1, 200) };

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
  deps: { secrets: Secrets; log: Logger; policy: AddressPolicy; sources?: DealSourceFactory },
) {
  const { secrets, log, policy, sources } = deps;
  const view = (c: Parameters<typeof connectorView>[0]) => connectorView(c, secrets);
  return new Hono()
    .get('/', async (c) => c.json({ connectors: (await listConnectors({ ctx })).map(view) }))
    .post('/', async (c) =>
      c.json(view(await addConnector({ ctx, secrets, policy, input: await jsonBody(c) })), 201),
    )
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
        await testConnector({
          ctx,
          secrets,
          policy,
          idOrName: connectorRef(c),
          ...(sources ? { sources } : {}),
        }),
      ),
    )
    .post('/:idOrName/sync', async (c) => {
      const idOrName = connectorRef(c);
      const q = queryParams(c, syncQuery);
      const full = q.full === 'true';
      if (q.wait === 'false') {
        const connector = await getConnector({ ctx, idOrName });
        void syncSoon({
          ctx,
          secrets,
          log,
          id: connector.id,
          trigger: 'api',
          policy,
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
        policy,
        ...(sources ? { sources } : {}),
      });
      return c.json(report);
    })
    .get('/:idOrName/runs', async (c) => {
      const q = queryParams(c, runsQuery);
      const runs = await listRuns({ ctx, idOrName: connectorRef(c), limit: q.limit ?? 20 });
      return c.json({ runs: runs.map(runView) });
    });
}

/**
 * The body of POST /connectors as it is checked: `connectorInput`, then `settings` and `secrets` by the
 * kind's own schemas (`connectorKinds`), one alternative per kind. Settings that all have defaults may
 * be left out.
 */
const connectorBody = z.union(
  connectorKindNames.map((kind) => {
    const { settings, secrets } = connectorKinds[kind];
    return connectorInput.extend({
      kind: z.literal(kind),
      settings: settings.safeParse({}).success ? settings.optional() : settings,
      secrets,
    });
  }),
);

const connectorParam = {
  idOrName: { description: "The connector's id (a UUID) or its exact name.", schema: plainText(100) },
};
const oneConnector = {
  200: {
    description: 'The connector, with the names of its secrets (`secretsSet`), never their values.',
    schema: jsonObject,
  },
  404: { description: 'No such connector.' },
};

export const connectorDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/connectors',
    tag: 'connectors',
    summary: 'List CRM connectors',
    responses: { 200: { description: '`{ connectors: [...] }`, without secrets.', schema: jsonObject } },
  },
  {
    method: 'post',
    path: '/connectors',
    tag: 'connectors',
    summary: 'Add a CRM connector (Salesforce, HubSpot)',
    description:
      'Secrets are stored encrypted and never shown again. The first sync is a backfill; it runs in `closeloop serve` at once, or with POST /connectors/{idOrName}/sync.',
    body: { content: { 'application/json': { schema: connectorBody } } },
    responses: {
      201: oneConnector[200],
      404: { description: 'No such goal.' },
      409: { description: 'A connector with this name exists.' },
      422: { description: 'Unknown kind, a missing setting or secret; `detail` says which.' },
    },
  },
  {
    method: 'get',
    path: '/connectors/:idOrName',
    tag: 'connectors',
    summary: 'Read a connector',
    params: connectorParam,
    responses: oneConnector,
  },
  {
    method: 'patch',
    path: '/connectors/:idOrName',
    tag: 'connectors',
    summary: "Change a connector's interval or goal",
    description: 'Settings and secrets are not changed in place: remove the connector and add it again.',
    params: connectorParam,
    body: { content: { 'application/json': { schema: connectorPatch } } },
    responses: { ...oneConnector, 422: { description: 'The change is not valid.' } },
  },
  {
    method: 'delete',
    path: '/connectors/:idOrName',
    tag: 'connectors',
    summary: 'Remove a connector and its runs (its conversions stay in the ledger)',
    params: connectorParam,
    responses: { 204: { description: 'Removed.' }, 404: { description: 'No such connector.' } },
  },
  {
    method: 'post',
    path: '/connectors/:idOrName/test',
    tag: 'connectors',
    summary: 'Sign in to the CRM and read a few deals, storing nothing',
    params: connectorParam,
    responses: {
      200: { description: 'Whether the CRM answered, and what it said.', schema: jsonObject },
      404: { description: 'No such connector.' },
    },
  },
  {
    method: 'post',
    path: '/connectors/:idOrName/sync',
    tag: 'connectors',
    summary: 'Sync now',
    description:
      '`full=true` reads every deal again (a backfill). `wait=false` answers 202 at once and syncs in the background; the run then shows in GET /connectors/{idOrName}/runs.',
    params: connectorParam,
    query: syncQuery,
    responses: {
      200: {
        description: "The run's report: deals read, conversions staged, skipped and why.",
        schema: jsonObject,
      },
      202: {
        description: '`{ accepted: true, runs }`: the sync runs in the background.',
        schema: jsonObject,
      },
      404: { description: 'No such connector.' },
      409: { description: 'A sync of this connector is running.' },
    },
  },
  {
    method: 'get',
    path: '/connectors/:idOrName/runs',
    tag: 'connectors',
    summary: "A connector's sync runs, newest first",
    params: connectorParam,
    query: runsQuery,
    responses: {
      200: { description: '`{ runs: [...] }` with their counts and errors.', schema: jsonObject },
      404: { description: 'No such connector.' },
    },
  },
];
