import type { ServiceContext } from '../../services/context.ts';
import type { Command } from '../command.ts';

/** The retention job runs at start and then every hour. */
const retentionIntervalMs = 60 * 60 * 1000;
/** Auto-tagging is read from Microsoft at start and then daily. */
const autoTaggingIntervalMs = 24 * 60 * 60 * 1000;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run the HTTP service (API, snippet, dashboard), the submitter and the retention job.',
  usage: `closeloop serve

  Configured by environment variables or a configuration file (docs/configuration.md): DATABASE_URL
  (PostgreSQL; without it an embedded PGlite database in the data folder: CLOSELOOP_DATA_DIR, else
  ./.closeloop in a closeloop checkout, else the user data folder), PORT (8787), HOST (127.0.0.1),
  MSADS_* (the Microsoft Advertising account; without it: a dry run against the built-in emulator),
  MSADS_CALLS_PER_MINUTE, MSADS_CONCURRENCY and SUBMIT_* (the submitter).`,
  async run() {
    const [
      { serve },
      { openDatabase },
      { createApp },
      { maintainUploads },
      { createLogger },
      { statusSetup },
      { openSending, refreshAutoTagging },
      { loadCliConfig },
      { reachability },
      { startConnectorSync },
      { scheduleDeps },
      { startScheduleRunner },
      { startWebhookProcessing, startCallPolling },
      { guardedFetch },
      { pruneWebhookEvents },
    ] = await Promise.all([
      import('@hono/node-server'),
      import('../../db/client.ts'),
      import('../../http/app.ts'),
      import('../../ingest/results.ts'),
      import('../../log.ts'),
      import('../../services/status.ts'),
      import('../../submit/runtime.ts'),
      import('../runtime.ts'),
      import('../../http/probes.ts'),
      import('../../services/connector-schedule.ts'),
      import('../../services/schedules.ts'),
      import('../../services/schedule-runner.ts'),
      import('../../services/webhook-runner.ts'),
      import('../../ingest/sources/guarded-fetch.ts'),
      import('../../services/webhook-retention.ts'),
    ]);
    const config = loadCliConfig();
    const log = createLogger(config.logLevel);
    const started = Date.now();
    // A database that cannot be opened ends the command with one line saying which and why (see main.ts).
    // The service owns its PGlite folder and serves it to the commands run meanwhile; it waits while a
    // command owns the folder, and refuses to start beside another service on it.
    const database = await openDatabase(
      config.database.kind === 'pglite'
        ? {
            ...config.database,
            log,
            sharing: { label: 'closeloop serve', role: 'service', notify: (m) => log.warn(m) },
          }
        : config.database,
    );
    const ctx: ServiceContext = { database, customerId: config.customerId, now: () => new Date() };
    const sending = await openSending(ctx, config, log);
    const schedules = await scheduleDeps(config);
    const target = sending.dryRun ? ('emulator' as const) : ('microsoft' as const);
    // Call-tracking webhooks: received calls become conversions in the background; polled providers are read.
    const calls = new AbortController();
    const processing = startWebhookProcessing({ ctx, log, signal: calls.signal });
    // A polled provider's address can be typed by a user (--base-url): the scheduled sources' guard applies.
    startCallPolling({
      ctx,
      secrets: sending.secrets,
      log,
      signal: calls.signal,
      onPolled: processing.wake,
      fetch: guardedFetch({ allowPrivate: config.allowPrivateSources }),
    });
    const app = createApp({
      ctx,
      log,
      maxUploadBytes: config.maxUploadBytes,
      target,
      clientFor: sending.clientFor,
      setup: statusSetup(config),
      metricsToken: config.metricsToken,
      ...(target === 'microsoft' ? { probeTarget: reachability(config.msads.apiBaseUrl) } : {}),
      ...(config.adminPassword ? { adminPassword: config.adminPassword } : {}),
      // CRM connectors: their login and base URLs are typed by users too, the same guard applies.
      crm: { secrets: sending.secrets, policy: { allowPrivate: config.allowPrivateSources } },
      schedules,
      webhooks: {
        secrets: sending.secrets,
        publicUrl: process.env.CLOSELOOP_PUBLIC_URL ?? `http://localhost:${config.port}`,
        onStored: processing.wake,
      },
    });
    const submitting = new AbortController();
    const submitterDone = sending.submitter.run(submitting.signal);
    // CRM connectors, each on its interval (claimed once across processes; see connector-schedule.ts).
    const connectorSync = startConnectorSync({
      ctx,
      secrets: sending.secrets,
      log,
      signal: submitting.signal,
      policy: { allowPrivate: config.allowPrivateSources },
    });
    // Scheduled imports: due ones (and those missed while the service was down, once) at start, then
    // a pass every 30 s; several processes on one PostgreSQL run each due time once.
    const schedulerDone = startScheduleRunner({ ctx, deps: schedules, log, signal: submitting.signal });

    const sweep = async () => {
      try {
        const now = new Date();
        const { deleted, interrupted } = await maintainUploads(database, now);
        const events = await pruneWebhookEvents(database, now);
        if (deleted + interrupted + events > 0)
          log.info('retention job', {
            deletedUploads: deleted,
            interruptedPreviews: interrupted,
            deletedWebhookEvents: events,
          });
      } catch (err) {
        log.error('retention job failed', err);
      }
    };
    await sweep();
    const timer = setInterval(sweep, retentionIntervalMs);
    const tagging = () => refreshAutoTagging(ctx, sending, log);
    void tagging();
    const taggingTimer = setInterval(tagging, autoTaggingIntervalMs);

    const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
      log.info('closeloop is listening', {
        url: `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${info.port}`,
        database: database.kind,
        dataDir: config.dataDir,
        dataDirFrom: config.dataDirChoice.why,
        ...(config.configFile ? { configFile: config.configFile.path } : {}),
        target,
        dryRun: target === 'emulator',
        startupMs: Date.now() - started,
      });
      if (target === 'emulator')
        log.warn(
          'dry run: no Microsoft Advertising credentials (MSADS_*); conversions are sent to the built-in emulator, nothing reaches Microsoft',
        );
    });

    return new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) return;
        stopping = true;
        log.info('stopping', { signal });
        clearInterval(timer);
        clearInterval(taggingTimer);
        submitting.abort();
        calls.abort();
        server.close(async () => {
          // The call in flight finishes and is recorded; nothing new is claimed.
          await submitterDone.catch(() => {});
          await connectorSync;
          await schedulerDone;
          await processing.done.catch(() => {});
          database.close().then(
            () => resolve(0),
            () => resolve(1),
          );
        });
        // Open keep-alive connections must not hold the shutdown forever.
        setTimeout(
          () => (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.(),
          2000,
        ).unref();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
};
