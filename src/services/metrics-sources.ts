import { sql } from 'drizzle-orm';
import type { ServiceContext } from './context.ts';
import type { MetricFamily, MetricsRegistry } from './metrics.ts';

/**
 * The series of the sources that feed the ledger besides files and the API: call-tracking webhooks, CRM
 * connectors and scheduled imports. Counted in SQL at each scrape, as the ledger's series are
 * (metrics-ledger.ts): the same figures from every process, nothing lost at a restart. Four aggregated
 * statements; pending webhook events are read through their partial index, the connectors' last runs
 * through (connector_id, started_at).
 */
export function registerSourceMetrics(metrics: MetricsRegistry): void {
  metrics.register('sources', sourceFamilies);
}

type Num = string | number | null | undefined;
const num = (v: Num) => (v === null || v === undefined ? 0 : Number(v));

export async function sourceFamilies(ctx: ServiceContext): Promise<MetricFamily[]> {
  const { customerId } = ctx;
  const now = ctx.now().toISOString();
  // Processed events by provider and outcome; pending ones (outcome still null) by provider, with the
  // age of the oldest. A growing age means the webhook processor is not running or keeps failing.
  const events = await ctx.database.query<{
    provider: string;
    state: string;
    outcome: string | null;
    n: Num;
    oldest: Num;
  }>(
    sql`select s.provider, e.state, e.outcome, count(*) as n,
               extract(epoch from ${now}::timestamptz - min(e.received_at)) as oldest
          from webhook_events e join webhook_sources s on s.id = e.source_id
         where s.customer_id = ${customerId}
         group by s.provider, e.state, e.outcome order by 1, 2, 3`,
  );
  const connectors = await ctx.database.query<{
    name: string;
    kind: string;
    lag: Num;
    failures: Num;
    status: string | null;
    counts: Record<string, unknown> | string | null;
  }>(
    sql`select c.name, c.kind, c.failures,
               extract(epoch from ${now}::timestamptz - coalesce(c.last_sync_at, c.created_at)) as lag,
               r.status, r.counts
          from connectors c
          left join lateral (
            select status, counts from connector_runs
             where connector_id = c.id and status <> 'running'
             order by started_at desc limit 1
          ) r on true
         where c.customer_id = ${customerId} order by c.name`,
  );
  const runs = await ctx.database.query<{ schedule: string; outcome: string; n: Num }>(
    sql`select s.name as schedule, r.outcome, count(*) as n
          from schedule_runs r join schedules s on s.id = r.schedule_id
         where s.customer_id = ${customerId}
         group by s.name, r.outcome order by 1, 2`,
  );
  const schedules = await ctx.database.query<{ name: string; failures: Num; paused: boolean }>(
    sql`select name, failures, paused from schedules where customer_id = ${customerId} order by name`,
  );

  const processed = events.filter((e) => e.state !== 'pending');
  const pending = events.filter((e) => e.state === 'pending');
  const lastRuns = connectors.map((c) => ({
    c,
    counts: (typeof c.counts === 'string' ? JSON.parse(c.counts) : c.counts) as Record<
      string,
      unknown
    > | null,
  }));
  const connectorLabels = (c: { name: string; kind: string }) => ({ connector: c.name, kind: c.kind });
  return [
    {
      name: 'closeloop_webhook_events_total',
      help: 'Call-tracking events processed, by provider and outcome (conversion, duplicate_delivery, correction, retraction, not_qualifying, rejected).',
      type: 'counter',
      samples: processed.map((e) => ({
        labels: { provider: e.provider, outcome: e.outcome ?? '' },
        value: num(e.n),
      })),
    },
    {
      name: 'closeloop_webhook_events_pending',
      help: 'Call-tracking events received and stored but not yet processed, by provider.',
      type: 'gauge',
      samples: pending.map((e) => ({ labels: { provider: e.provider }, value: num(e.n) })),
    },
    {
      name: 'closeloop_webhook_events_oldest_pending_age_seconds',
      help: 'How long the oldest pending call-tracking event has waited, by provider. Alert when it keeps growing.',
      type: 'gauge',
      samples: pending.map((e) => ({ labels: { provider: e.provider }, value: Math.max(0, num(e.oldest)) })),
    },
    {
      name: 'closeloop_connector_sync_lag_seconds',
      help: 'Seconds since the CRM connector last synced successfully (since it was added, before its first sync).',
      type: 'gauge',
      samples: connectors.map((c) => ({ labels: connectorLabels(c), value: Math.max(0, num(c.lag)) })),
    },
    {
      name: 'closeloop_connector_failures',
      help: 'Failed syncs of the connector in a row (0 after a success); see closeloop connectors runs NAME.',
      type: 'gauge',
      samples: connectors.map((c) => ({ labels: connectorLabels(c), value: num(c.failures) })),
    },
    {
      name: 'closeloop_connector_last_run_failed',
      help: "1 when the connector's last finished sync failed, 0 when it succeeded (absent before its first).",
      type: 'gauge',
      samples: connectors
        .filter((c) => c.status !== null)
        .map((c) => ({ labels: connectorLabels(c), value: c.status === 'failed' ? 1 : 0 })),
    },
    {
      name: 'closeloop_connector_last_run_count',
      help: "The counts of the connector's last finished sync (deals_read, conversions, restates, retracts, unchanged, skipped, rejected, api_calls).",
      type: 'gauge',
      samples: lastRuns.flatMap(({ c, counts }) =>
        counts
          ? runCounts(counts).map(([count, value]) => ({ labels: { ...connectorLabels(c), count }, value }))
          : [],
      ),
    },
    {
      name: 'closeloop_schedule_runs_total',
      help: 'Runs of scheduled imports, by schedule and outcome (imported, unchanged, failed; running while one is).',
      type: 'counter',
      samples: runs.map((r) => ({ labels: { schedule: r.schedule, outcome: r.outcome }, value: num(r.n) })),
    },
    {
      name: 'closeloop_schedule_failures',
      help: 'Failed runs of the scheduled import in a row (0 when its last run did not fail); see closeloop schedules runs NAME.',
      type: 'gauge',
      samples: schedules.map((s) => ({ labels: { schedule: s.name }, value: num(s.failures) })),
    },
    {
      name: 'closeloop_schedules_failing',
      help: 'Scheduled imports, not paused, whose last run failed. Alert when above 0.',
      type: 'gauge',
      samples: [{ value: schedules.filter((s) => !s.paused && num(s.failures) > 0).length }],
    },
  ];
}

/** A run's counts as labelled figures: numbers as they are, per-reason tallies (skipped, rejected) summed. */
function runCounts(counts: Record<string, unknown>): [string, number][] {
  const names: Record<string, string> = {
    dealsRead: 'deals_read',
    conversions: 'conversions',
    restates: 'restates',
    retracts: 'retracts',
    unchanged: 'unchanged',
    skipped: 'skipped',
    rejected: 'rejected',
    apiCalls: 'api_calls',
  };
  return Object.entries(names).map(([key, label]) => {
    const v = counts[key];
    if (typeof v === 'number') return [label, v];
    if (v && typeof v === 'object')
      return [label, Object.values(v).reduce<number>((sum, n) => sum + (typeof n === 'number' ? n : 0), 0)];
    return [label, 0];
  });
}
