import { sql } from 'drizzle-orm';
import { isThrottlePause } from '../submit/answer.ts';
import type { ServiceContext } from './context.ts';
import type { MetricFamily, MetricsRegistry } from './metrics.ts';

/**
 * closeloop's own series, counted in SQL at each scrape: the same figures from every process that
 * shares the database. Five aggregated statements; on 100,000 ledger rows they take milliseconds
 * (npm run bench:metrics prints the figure).
 */
export function registerLedgerMetrics(metrics: MetricsRegistry): void {
  metrics.register('ledger', ledgerFamilies);
}

type Count = { n: string | number };
const num = (v: string | number | null | undefined) => (v === null || v === undefined ? 0 : Number(v));

export async function ledgerFamilies(ctx: ServiceContext): Promise<MetricFamily[]> {
  const { customerId } = ctx;
  const now = ctx.now().toISOString();
  const conversions = await ctx.database.query<Count & { goal: string; state: string }>(
    sql`select goal_name as goal, state, count(*) as n from conversions
        where customer_id = ${customerId} group by goal_name, state order by 1, 2`,
  );
  const adjustments = await ctx.database.query<Count & { state: string }>(
    sql`select state, count(*) as n from adjustments where customer_id = ${customerId} group by state order by 1`,
  );
  const submissions = await ctx.database.query<
    Count & { operation: string; outcome: string; error_code: string | null }
  >(
    sql`select operation, outcome, error_code, count(*) as n from submissions
        where customer_id = ${customerId} group by operation, outcome, error_code order by 1, 2, 3`,
  );
  // Queued rows, those due now, and how long the oldest due one has been due: it became due when it
  // was last queued (updated_at) or when its backoff ended (run_at), whichever is later. A growing age
  // means nothing is sending (no submitter running, every account paused).
  const queue = await ctx.database.query<{
    kind: string;
    queued: string | number;
    due: string | number;
    oldest: string | number | null;
  }>(
    sql`select 'conversions' as kind, count(*) as queued,
               count(*) filter (where run_at <= ${now}::timestamptz) as due,
               extract(epoch from ${now}::timestamptz - min(greatest(updated_at, run_at)) filter (where run_at <= ${now}::timestamptz)) as oldest
          from conversions where state = 'queued' and customer_id = ${customerId}
        union all
        select 'adjustments', count(*), count(*) filter (where run_at <= ${now}::timestamptz),
               extract(epoch from ${now}::timestamptz - min(greatest(updated_at, run_at)) filter (where run_at <= ${now}::timestamptz))
          from adjustments where state = 'queued' and customer_id = ${customerId}`,
  );
  const accounts = await ctx.database.query<{
    name: string;
    ms_account_id: string;
    paused_until: string | Date | null;
    pause_reason: string | null;
    auth_status: string;
  }>(
    sql`select name, ms_account_id, paused_until, pause_reason, auth_status from accounts
        where customer_id = ${customerId} order by name`,
  );
  const at = ctx.now().getTime();
  const pauses = accounts.map((a) => {
    const until = a.paused_until === null ? 0 : new Date(a.paused_until).getTime();
    const paused = until > at;
    return {
      labels: {
        account: a.ms_account_id,
        reason: !paused ? 'none' : isThrottlePause(a.pause_reason) ? 'throttled' : 'error',
      },
      seconds: paused ? (until - at) / 1000 : 0,
      paused,
      auth: a.auth_status,
    };
  });
  return [
    {
      name: 'closeloop_conversions',
      help: 'Conversions in the ledger, by goal and state (held, queued, submitting, accepted, rejected, duplicate, expired, previewed).',
      type: 'gauge',
      samples: conversions.map((r) => ({ labels: { goal: r.goal, state: r.state }, value: num(r.n) })),
    },
    {
      name: 'closeloop_adjustments',
      help: 'Adjustments (restate, retract) in the ledger, by state.',
      type: 'gauge',
      samples: adjustments.map((r) => ({ labels: { state: r.state }, value: num(r.n) })),
    },
    {
      name: 'closeloop_submissions_total',
      help: "Calls made to Microsoft Advertising, by operation, outcome and Microsoft's error code ('' when none).",
      type: 'counter',
      samples: submissions.map((r) => ({
        labels: { operation: r.operation, outcome: r.outcome, error_code: r.error_code ?? '' },
        value: num(r.n),
      })),
    },
    {
      name: 'closeloop_queue_depth',
      help: 'Rows waiting to be sent (state queued), due now or in backoff.',
      type: 'gauge',
      samples: queue.map((r) => ({ labels: { kind: r.kind }, value: num(r.queued) })),
    },
    {
      name: 'closeloop_queue_due',
      help: 'Queued rows that are due now (their backoff, if any, is over).',
      type: 'gauge',
      samples: queue.map((r) => ({ labels: { kind: r.kind }, value: num(r.due) })),
    },
    {
      name: 'closeloop_queue_oldest_due_age_seconds',
      help: 'How long the oldest due row has been due (0 when none is due). Alert when it keeps growing.',
      type: 'gauge',
      samples: queue.map((r) => ({ labels: { kind: r.kind }, value: Math.max(0, num(r.oldest)) })),
    },
    {
      name: 'closeloop_account_paused',
      help: "1 while sending to the account is paused: reason 'throttled' (Microsoft's 117 / HTTP 429, ends by itself) or 'error' (fix the cause: closeloop accounts list).",
      type: 'gauge',
      samples: pauses.map((p) => ({ labels: p.labels, value: p.paused ? 1 : 0 })),
    },
    {
      name: 'closeloop_account_pause_remaining_seconds',
      help: 'Seconds until a paused account may be called again (0 when not paused).',
      type: 'gauge',
      samples: pauses.map((p) => ({ labels: { account: p.labels.account }, value: p.seconds })),
    },
    {
      name: 'closeloop_account_needs_sign_in',
      help: '1 when the account needs `closeloop auth login` (its refresh token was refused).',
      type: 'gauge',
      samples: pauses.map((p) => ({
        labels: { account: p.labels.account },
        value: p.auth === 'reconsent_needed' ? 1 : 0,
      })),
    },
  ];
}
