import { and, asc, eq, isNull, lte, or } from 'drizzle-orm';
import { type Connector, connectors } from '../db/schema/index.ts';
import type { AddressPolicy } from '../ingest/sources/address-policy.ts';
import type { Logger } from '../log.ts';
import type { Secrets } from '../secrets.ts';
import { type SyncReport, syncConnector } from './connector-sync.ts';
import { type DealSourceFactory, registrySources } from './connectors.ts';
import type { ServiceContext } from './context.ts';

/*
 * `closeloop serve` syncs every connector on its interval. Several processes may share one PostgreSQL:
 * a due sync is claimed by compare-and-set on next_sync_at (one winner moves it one interval on), so each
 * interval runs once whatever the number of processes. A failed sync waits longer each time
 * (interval × 2^(failures−1), at most a day) and never stops serve.
 */

const maxBackoffMs = 24 * 60 * 60_000;

/** The next sync after `failures` failures in a row: the interval, doubled per failure, at most a day. */
export function nextSyncDelayMs(intervalMinutes: number, failures: number): number {
  const interval = intervalMinutes * 60_000;
  if (failures <= 0) return interval;
  return Math.min(interval * 2 ** (failures - 1), Math.max(maxBackoffMs, interval));
}

/** Claim one due connector: the winner of the compare-and-set on its next_sync_at, or undefined. */
export async function claimDueConnector(ctx: ServiceContext): Promise<Connector | undefined> {
  const now = ctx.now();
  const due = await ctx.database.db
    .select({
      id: connectors.id,
      nextSyncAt: connectors.nextSyncAt,
      intervalMinutes: connectors.intervalMinutes,
    })
    .from(connectors)
    .where(
      and(
        eq(connectors.customerId, ctx.customerId),
        lte(connectors.nextSyncAt, now),
        or(isNull(connectors.leaseUntil), lte(connectors.leaseUntil, now)),
      ),
    )
    .orderBy(asc(connectors.nextSyncAt))
    .limit(10);
  for (const c of due) {
    const [won] = await ctx.database.db
      .update(connectors)
      .set({ nextSyncAt: new Date(now.getTime() + c.intervalMinutes * 60_000) })
      // Still due: the first claim moved next_sync_at past now, so a concurrent one matches no row
      // (PostgreSQL re-checks the condition on the row that claim committed). Not "= the time read": a
      // time written by SQL has microseconds that a JS Date drops, and it would never be claimed.
      .where(and(eq(connectors.id, c.id), lte(connectors.nextSyncAt, now)))
      .returning();
    if (won) return won;
  }
  return undefined;
}

/** Run every sync that is due now (claimed one at a time); returns the reports. Never throws for a sync. */
export async function runDueSyncs({
  ctx,
  secrets,
  log,
  sources = registrySources,
  policy,
  signal,
}: {
  ctx: ServiceContext;
  secrets: Secrets;
  log: Logger;
  sources?: DealSourceFactory;
  /** Where connectors may connect (CLOSELOOP_ALLOW_PRIVATE_SOURCES). */
  policy: AddressPolicy;
  signal?: AbortSignal;
}): Promise<SyncReport[]> {
  const reports: SyncReport[] = [];
  while (!signal?.aborted) {
    const connector = await claimDueConnector(ctx);
    if (!connector) break;
    try {
      const report = await syncConnector({
        ctx,
        secrets,
        id: connector.id,
        trigger: 'schedule',
        sources,
        policy,
        signal,
      });
      reports.push(report);
      if (report.status === 'failed') {
        const [after] = await ctx.database.db
          .select({ failures: connectors.failures })
          .from(connectors)
          .where(eq(connectors.id, connector.id));
        const delay = nextSyncDelayMs(connector.intervalMinutes, after?.failures ?? 1);
        await ctx.database.db
          .update(connectors)
          .set({ nextSyncAt: new Date(ctx.now().getTime() + delay) })
          .where(eq(connectors.id, connector.id));
        log.warn('connector sync failed', {
          connector: connector.name,
          error: report.error,
          failures: after?.failures,
          nextSyncInMinutes: Math.round(delay / 60_000),
        });
      } else log.info('connector synced', { connector: connector.name, ...report.counts });
    } catch (err) {
      // A sync already under way elsewhere (a CLI sync, a webhook) or the database: logged, serve goes on.
      log.warn('connector sync not run', {
        connector: connector.name,
        error: String((err as Error).message ?? err),
      });
    }
  }
  return reports;
}

/** The loop `serve` runs: look for due syncs every `pollMs` until `signal` aborts. */
export function startConnectorSync({
  ctx,
  secrets,
  log,
  signal,
  pollMs = 30_000,
  sources,
  policy,
}: {
  ctx: ServiceContext;
  secrets: Secrets;
  log: Logger;
  signal: AbortSignal;
  pollMs?: number;
  sources?: DealSourceFactory;
  /** Where connectors may connect (CLOSELOOP_ALLOW_PRIVATE_SOURCES). */
  policy: AddressPolicy;
}): Promise<void> {
  return (async () => {
    while (!signal.aborted) {
      try {
        await runDueSyncs({ ctx, secrets, log, signal, policy, ...(sources ? { sources } : {}) });
      } catch (err) {
        log.error('connector schedule failed', err);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
    }
  })();
}

/**
 * Sync one connector now without waiting for it (the HubSpot webhook): its failure is recorded on the
 * connector and the run, and logged; a sync already under way is enough.
 */
export function syncSoon({
  ctx,
  secrets,
  log,
  id,
  trigger,
  sources,
  policy,
}: {
  ctx: ServiceContext;
  secrets: Secrets;
  log: Logger;
  id: string;
  trigger: 'webhook' | 'api';
  sources?: DealSourceFactory;
  policy: AddressPolicy;
}): Promise<void> {
  return syncConnector({ ctx, secrets, id, trigger, policy, ...(sources ? { sources } : {}) }).then(
    (report) => log.info('connector synced', { connector: report.connector.name, trigger, ...report.counts }),
    (err) =>
      log.info('connector sync not run', { id, trigger, reason: String((err as Error).message ?? err) }),
  );
}
