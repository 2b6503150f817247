import { sql } from 'drizzle-orm';
import { ts } from '../db/sql.ts';
import type { ServiceContext } from './context.ts';
import type { ConversionFilters } from './conversion-search.ts';

/** How a conversion of a day ended up, as the overview's chart stacks it. */
export type Outcome =
  | 'accepted'
  | 'waiting'
  | 'held'
  | 'duplicate'
  | 'expired'
  | 'failed'
  | `rejected ${string}`;

export interface DayOutcomes {
  /** UTC day of the conversion time, YYYY-MM-DD. */
  day: string;
  counts: Partial<Record<Outcome, number>>;
}

/** One reason rows did not count, with how many and the search that lists them. */
export interface FewerReason {
  label: string;
  explanation: string;
  count: number;
  /** The conversions search that lists these rows; null for rows that never entered the ledger. */
  filters: ConversionFilters | null;
}

export interface OutcomeSummary {
  from: string;
  to: string;
  days: DayOutcomes[];
  /** Ledger rows whose conversion time falls in the period. */
  received: number;
  accepted: number;
  /** Every reason a row did not count; their counts add up to received − accepted + refusedByChecks. */
  reasons: FewerReason[];
  /** Rows of files and API batches of the period refused by closeloop's checks (never in the ledger). */
  refusedByChecks: number;
}

const explanations: Record<string, string> = {
  held: "Valid, waiting for Microsoft's warm-up (a goal takes conversions 2 hours after it is created, a click 1 hour after it happened); closeloop sends them then, by itself.",
  queued: 'Valid and due: the submitter sends them at its next round (or they wait out a retry back-off).',
  submitting: 'Being sent right now.',
  duplicate:
    'A second arrival of a conversion already in the ledger (same goal, click ID and conversion time): Microsoft counts it once, so closeloop sends it once.',
  failed:
    'Sending failed on every attempt (network, Microsoft unavailable): `closeloop retry` queues them again.',
};

const addDays = (d: string, n: number) =>
  new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/**
 * Conversions per day by outcome for the days [from, to] (UTC, by conversion time), and why fewer of
 * them counted at Microsoft than arrived: every ledger state but accepted is a reason, rejections and
 * expiries split by their code, plus the rows the checks refused before the ledger.
 */
export async function conversionOutcomes({
  ctx,
  from,
  to,
}: {
  ctx: ServiceContext;
  from: string;
  to: string;
}): Promise<OutcomeSummary> {
  const start = new Date(`${from}T00:00:00Z`);
  const end = new Date(`${addDays(to, 1)}T00:00:00Z`);
  const rows = await ctx.database.query<{
    day: string;
    state: string;
    code: string | null;
    name: string | null;
    message: string | null;
    n: number;
  }>(sql`
    select to_char(conversion_time at time zone 'UTC', 'YYYY-MM-DD') as day, state, error_code as code,
           max(error_name) as name, max(message) as message, count(*)::int as n
      from conversions
     where customer_id = ${ctx.customerId} and conversion_time >= ${ts(start)} and conversion_time < ${ts(end)}
     group by 1, 2, 3`);
  const [refused] = await ctx.database.query<{ n: number }>(sql`
    select count(*)::int as n
      from upload_rows r join uploads u on u.id = r.upload_id
     where u.customer_id = ${ctx.customerId} and r.status = 'rejected'
       and coalesce(r.conversion_time, u.created_at) >= ${ts(start)}
       and coalesce(r.conversion_time, u.created_at) < ${ts(end)}`);
  const byDay = new Map<string, DayOutcomes>();
  for (let d = from; d <= to; d = addDays(d, 1)) byDay.set(d, { day: d, counts: {} });
  const reasons = new Map<string, FewerReason>();
  let received = 0;
  let accepted = 0;
  for (const r of rows) {
    const n = Number(r.n);
    received += n;
    const outcome: Outcome =
      r.state === 'accepted'
        ? 'accepted'
        : r.state === 'queued' || r.state === 'submitting'
          ? 'waiting'
          : r.state === 'rejected'
            ? `rejected ${r.code ?? 'without code'}`
            : (r.state as Outcome);
    const counts = byDay.get(r.day)?.counts;
    if (counts) counts[outcome] = (counts[outcome] ?? 0) + n;
    if (r.state === 'accepted') {
      accepted += n;
      continue;
    }
    const coded = r.state === 'rejected' || r.state === 'expired';
    const key = coded ? `${r.state} ${r.code ?? ''}` : r.state;
    const reason = reasons.get(key) ?? {
      label: coded
        ? `${r.state === 'rejected' ? 'Rejected' : 'Expired'}: ${r.code ?? 'no code'}${r.name ? ` ${r.name}` : ''}`
        : `${r.state[0]!.toUpperCase()}${r.state.slice(1)}`,
      explanation: coded
        ? (r.message ??
          (r.state === 'expired'
            ? "Too old for Microsoft (90 days, or outside the goal's conversion window)."
            : 'Refused by Microsoft.'))
        : (explanations[r.state] ?? r.state),
      count: 0,
      filters: {
        from,
        to,
        state: r.state as never,
        ...(coded && r.code ? { errorCode: r.code } : {}),
      },
    };
    reason.count += n;
    reasons.set(key, reason);
  }
  const refusedByChecks = Number(refused?.n ?? 0);
  const list = [...reasons.values()].sort((a, b) => b.count - a.count || a.label.localeCompare(b.label));
  if (refusedByChecks > 0)
    list.push({
      label: 'Refused by the checks',
      explanation:
        "Rows of files and API batches that closeloop's checks refused (a malformed click ID, a time it cannot read, an unknown goal…): they never entered the ledger. Each upload's errors file says what to fix.",
      count: refusedByChecks,
      filters: null,
    });
  return { from, to, days: [...byDay.values()], received, accepted, reasons: list, refusedByChecks };
}

/** The last `days` UTC days up to today. */
export function lastDays(now: Date, days: number): { from: string; to: string } {
  const to = now.toISOString().slice(0, 10);
  return { from: addDays(to, -(days - 1)), to };
}
