import { sql } from 'drizzle-orm';
import type { Account } from '../db/schema/index.ts';
import type { MsadsClient } from '../msads/client.ts';
import type { ServiceContext } from './context.ts';
import { maxDiagnosticsDays, msadsDiagnostics, type ReasonCount } from './msads-diagnostics.ts';

/** One goal's day: what the ledger says Microsoft accepted, and what Microsoft itself counted. */
export interface ComparedDay {
  date: string;
  /** Rows of the goal that Microsoft accepted that UTC day (the ledger's accepted_at). */
  accepted: number;
  /** Microsoft's own figures for the day it received them; null when Microsoft reported nothing. */
  counted: number | null;
  unattributed: number | null;
  reasons: ReasonCount[];
}

export interface GoalComparison {
  goal: string;
  days: ComparedDay[];
}

export type Comparison =
  | { ok: true; from: string; to: string; goals: GoalComparison[]; notes: string[] }
  | { ok: false; reason: string };

/**
 * Microsoft's daily figures per goal (msads-diagnostics.ts) beside the ledger's accepted rows of the same
 * goal and UTC day, for the dashboard. Microsoft not answering is an answer here (`ok: false` with its
 * reason), never an exception: the page that shows it must still render.
 */
export async function compareWithMicrosoft({
  ctx,
  clientFor,
  days,
}: {
  ctx: ServiceContext;
  clientFor: ((account: Account) => MsadsClient) | undefined;
  days: number;
}): Promise<Comparison> {
  if (!clientFor) return { ok: false, reason: 'This process cannot reach Microsoft Advertising.' };
  let diagnostics: Awaited<ReturnType<typeof msadsDiagnostics>>;
  try {
    diagnostics = await msadsDiagnostics({ ctx, clientFor, days: Math.min(days, maxDiagnosticsDays) });
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
  const { from, to } = diagnostics;
  const ours = await ctx.database.query<{ goal: string; day: string; n: number }>(sql`
    select goal_name as goal, to_char(accepted_at at time zone 'UTC', 'YYYY-MM-DD') as day, count(*)::int as n
      from conversions
     where customer_id = ${ctx.customerId} and state = 'accepted'
       and accepted_at >= ${`${from}T00:00:00Z`}::timestamptz
       and accepted_at < ${`${to}T00:00:00Z`}::timestamptz + interval '1 day'
     group by 1, 2`);
  const byGoal = new Map<string, Map<string, ComparedDay>>();
  const dayOf = (goal: string, date: string) => {
    const g = byGoal.get(goal) ?? byGoal.set(goal, new Map()).get(goal)!;
    return (
      g.get(date) ??
      g.set(date, { date, accepted: 0, counted: null, unattributed: null, reasons: [] }).get(date)!
    );
  };
  for (const r of ours) dayOf(r.goal, r.day).accepted += Number(r.n);
  for (const g of diagnostics.goals)
    for (const d of g.days) {
      const day = dayOf(g.goal, d.date);
      day.counted = (day.counted ?? 0) + d.counted;
      day.unattributed = (day.unattributed ?? 0) + d.unattributed;
      day.reasons.push(...d.reasons);
    }
  const goals = [...byGoal]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([goal, m]) => ({ goal, days: [...m.values()].sort((a, b) => b.date.localeCompare(a.date)) }));
  return { ok: true, from, to, goals, notes: diagnostics.notes };
}
