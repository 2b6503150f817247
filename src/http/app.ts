import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { databaseUnavailable } from '../db/errors.ts';
import type { Account } from '../db/schema/index.ts';
import { AppError } from '../errors.ts';
import type { AddressPolicy } from '../ingest/sources/address-policy.ts';
import { describeError, type Logger } from '../log.ts';
import type { MsadsClient } from '../msads/client.ts';
import type { Secrets } from '../secrets.ts';
import type { DealSourceFactory } from '../services/connectors.ts';
import type { ServiceContext } from '../services/context.ts';
import { createMetricsRegistry, type MetricsRegistry } from '../services/metrics.ts';
import { registerLedgerMetrics } from '../services/metrics-ledger.ts';
import { registerSourceMetrics } from '../services/metrics-sources.ts';
import type { ScheduleDeps } from '../services/schedules.ts';
import { type StatusSetup, unknownSetup } from '../services/status.ts';
import { apiDocsRoutes } from './api-docs.ts';
import { requireApiKey } from './auth.ts';
import { limitBody, payloadTooLarge } from './body.ts';
import { dashboardRoutes } from './dashboard/index.ts';
import { metricsRoutes } from './metrics.ts';
import { type CheckResult, probeRoutes } from './probes.ts';
import { onError, problem } from './problem.ts';
import { requestId } from './request-id.ts';
import { accountRoutes } from './routes/accounts.ts';
import { autoTaggingRoutes } from './routes/auto-tagging.ts';
import { batchRoutes } from './routes/batches.ts';
import { connectorRoutes } from './routes/connectors.ts';
import { diagnosticsRoutes } from './routes/diagnostics.ts';
import { goalRoutes } from './routes/goals.ts';
import { hubspotWebhookRoutes } from './routes/hubspot-webhook.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { statusRoutes } from './routes/status.ts';
import { submissionRoutes } from './routes/submissions.ts';
import { uploadRoutes } from './routes/uploads.ts';
import { webhookSourceRoutes } from './routes/webhook-sources.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { createSnippetRoutes } from './snippet.ts';

export interface AppDeps {
  ctx: ServiceContext;
  log: Logger;
  /** Largest request body accepted (uploads included). */
  maxUploadBytes: number;
  /** Where conversions go: 'emulator' (dry run, nothing reaches Microsoft) or 'microsoft'. */
  target: 'emulator' | 'microsoft';
  /** A Microsoft Advertising client for an account (auto-tagging); absent in tests that do not need it. */
  clientFor?: (account: Account) => MsadsClient;
  /** How long /health waits for the database before it answers 503. @default 2000 */
  healthTimeoutMs?: number;
  /** Where the data is and whether MSADS_* name an account, for GET /api/v1/status. @default the database kind only */
  setup?: StatusSetup;
  /** Where capabilities add their series for GET /metrics. @default a new registry with the ledger's series */
  metrics?: MetricsRegistry;
  /** The bearer token GET /metrics takes besides API keys (CLOSELOOP_METRICS_TOKEN). */
  metricsToken?: string | undefined;
  /** Whether Microsoft's API host answers, for GET /readyz (see `reachability`). @default not checked */
  probeTarget?: () => Promise<CheckResult>;
  /** Signs in to the dashboard besides API keys (CLOSELOOP_ADMIN_PASSWORD). @default API keys only */
  adminPassword?: string;
  /**
   * CRM connectors, served only with it: the key of their stored secrets, where they may connect
   * (CLOSELOOP_ALLOW_PRIVATE_SOURCES), and where they read deals (tests pass their own; @default the
   * connector modules of connectors/registry.ts).
   */
  crm?: { secrets: Secrets; policy: AddressPolicy; sources?: DealSourceFactory };
  /** The secrets key and download limits of scheduled imports; without them /api/v1/schedules is absent. */
  schedules?: ScheduleDeps;
  /**
   * Call-tracking webhooks: the key of their secrets, where providers reach this service, and who to
   * tell when calls were stored. Without it /webhooks/… is not mounted and /api/v1/webhooks cannot
   * store or show secrets (503).
   */
  webhooks?: { secrets: Secrets; publicUrl: string; onStored?: () => void };
}

/** Clients may retry a 503 database_unavailable after this many seconds (PostgreSQL reconnects, PGlite reopens). */
const retryAfterSeconds = 5;

/** The whole HTTP service; no server, so tests call `app.request()` directly. */
export function createApp({
  ctx,
  log,
  maxUploadBytes,
  target,
  clientFor,
  healthTimeoutMs = 2000,
  setup,
  metrics = defaultMetrics(),
  metricsToken,
  probeTarget,
  adminPassword,
  crm: crmDeps,
  schedules,
  webhooks,
}: AppDeps) {
  const app = new Hono();
  // First, so that every line logged while serving a request, errors included, carries its id.
  app.use(requestId(log));
  const handleError = onError((msg, err) => log.error(msg, err));
  app.onError((err, c) => {
    // The database being down is not a bug: 503 with what to check, and one log line with the cause.
    const unavailable = databaseUnavailable(err, ctx.database.kind);
    if (!unavailable) return handleError(err, c);
    log.warn('database unavailable', {
      method: c.req.method,
      path: c.req.path,
      cause: describeError(err, { stack: false }),
    });
    c.header('retry-after', String(retryAfterSeconds));
    return problem(c, unavailable.code, unavailable.message);
  });
  app.notFound((c) =>
    problem(c, 'not_found', `No route ${c.req.method} ${c.req.path}. The API lives under /api/v1.`),
  );
  app.use(secureHeaders({ crossOriginResourcePolicy: false }));
  app.route(
    '/',
    probeRoutes({
      ctx,
      target,
      timeoutMs: healthTimeoutMs,
      retryAfterSeconds,
      ...(probeTarget ? { probeTarget } : {}),
    }),
  );
  app.route('/', metricsRoutes({ ctx, log, metrics, metricsToken }));
  // Before /api/v1's key check: the document describes the API and holds no data.
  app.route('/', apiDocsRoutes());
  app.route('/', createSnippetRoutes());
  const crm = crmDeps ? { ...crmDeps, log } : undefined;
  app.route(
    '/',
    dashboardRoutes({
      ctx,
      target,
      maxUploadBytes,
      adminPassword,
      onError: handleError,
      log,
      clientFor,
      crm,
      schedules,
    }),
  );
  // Authenticated by its signature (before the body is parsed), not by the API key.
  if (crm) app.route('/webhooks/hubspot', hubspotWebhookRoutes(ctx, crm));
  // Outside the API key: each provider authenticates with its source's own secret.
  if (webhooks) app.route('/', webhookRoutes({ ctx, log, ...webhooks }));

  const api = new Hono();
  // The key first: nothing of a body is read for a caller without one. Then every body is counted as it
  // streams, chunked or not.
  api.use(requireApiKey(ctx));
  api.use(limitBody(maxUploadBytes, () => uploadTooLarge(maxUploadBytes)));
  api.route('/goals', goalRoutes(ctx));
  api.route('/uploads', uploadRoutes(ctx));
  api.route('/', batchRoutes(ctx));
  api.route('/', submissionRoutes(ctx));
  api.route('/', statusRoutes(ctx, setup ?? unknownSetup(ctx.database.kind, target)));
  api.route('/accounts', autoTaggingRoutes(ctx, clientFor));
  api.route('/accounts', accountRoutes(ctx));
  api.route('/', diagnosticsRoutes(ctx, clientFor));
  if (crm) api.route('/connectors', connectorRoutes(ctx, crm));
  if (schedules) api.route('/schedules', scheduleRoutes(ctx, schedules));
  api.route('/webhooks', webhookSourceRoutes(ctx, webhooks?.secrets ?? noSecrets, webhooks?.publicUrl ?? ''));
  app.route('/api/v1', api);
  return app;
}

function defaultMetrics(): MetricsRegistry {
  const metrics = createMetricsRegistry();
  registerLedgerMetrics(metrics);
  registerSourceMetrics(metrics);
  return metrics;
}

/** A process without the webhooks' secret key (tests of other parts): sources that need it answer 503. */
const noSecrets: Secrets = {
  encrypt: () => {
    throw new AppError('service_unavailable', 'Call-tracking webhooks are not set up in this process.');
  },
  decrypt: () => {
    throw new AppError('service_unavailable', 'Call-tracking webhooks are not set up in this process.');
  },
};

const uploadTooLarge = (maxBytes: number) =>
  payloadTooLarge(
    maxBytes,
    'The request body',
    'Split the file into several uploads, or raise CLOSELOOP_MAX_UPLOAD_MB where closeloop runs.',
  );
