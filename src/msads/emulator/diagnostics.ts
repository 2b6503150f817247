import type {
  WireBatchError,
  WireOfflineConversionAlert,
  WireOfflineGoalConversionSummary,
  WireOfflineGoalDailySummary,
  WireUnattributedReason,
} from '../wire.ts';
import { type Answer, type Call, ok } from './call.ts';
import { batchError, malformedRequest } from './faults.ts';
import type { GoalStore } from './goals.ts';

/*
 * Microsoft's own diagnostics of offline conversions (msads-api.md §12), computed from what the emulator
 * received: per goal and UTC day of arrival, the conversions it counted (SuccessCount) and those it took
 * but could not attribute, with the reason (a repeated key: DuplicateConversionKey; a click the emulator
 * was told about none of, when it was told about clicks: NoMatchingClickFound); per account and day, the
 * items it refused (FailureCount). Counts only, so the 1,000,000-item benchmark stays small.
 */

export interface DiagnosticsStore {
  /** A valid conversion of `goalId`: counted, or taken but not attributed for `reason`. */
  received(call: Call, goalId: string, reason?: WireUnattributedReason): void;
  /** Items of a call refused with BatchErrors. */
  failed(call: Call, count: number): void;
  reportsByGoalIds(goals: GoalStore, call: Call, body: unknown): Answer;
  reports(call: Call, body: unknown): Answer;
  reset(): void;
}

interface GoalDay {
  success: number;
  unattributed: Map<WireUnattributedReason, number>;
}

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const msPerDay = 86_400_000;

export function createDiagnosticsStore(): DiagnosticsStore {
  // customer|goal → day → counts; customer|account → day → [success, failure].
  const byGoal = new Map<string, Map<string, GoalDay>>();
  const byAccount = new Map<string, Map<string, { success: number; failure: number }>>();
  const accountDay = (call: Call) =>
    entry(
      entry(byAccount, `${call.customerId}|${call.accountId}`, () => new Map()),
      dayOf(call.nowMs),
      () => ({
        success: 0,
        failure: 0,
      }),
    );

  /** The request's two dates as whole UTC days (ms at midnight), or a refusal. */
  function range(call: Call, body: unknown): { start: number; end: number } | { answer: Answer } {
    if (body === null || typeof body !== 'object')
      return { answer: malformedRequest(call.trackingId, 'The body must be a JSON object.') };
    const { StartDateUtc, EndDateUtc } = body as Record<string, unknown>;
    const start = typeof StartDateUtc === 'string' ? Date.parse(StartDateUtc) : Number.NaN;
    const end = typeof EndDateUtc === 'string' ? Date.parse(EndDateUtc) : Number.NaN;
    if (Number.isNaN(start) || Number.isNaN(end))
      return {
        answer: malformedRequest(call.trackingId, 'StartDateUtc and EndDateUtc must be ISO 8601 date-times.'),
      };
    return { start: Math.floor(start / msPerDay) * msPerDay, end: Math.floor(end / msPerDay) * msPerDay };
  }

  function* days(start: number, end: number) {
    for (let t = start; t <= end; t += msPerDay) yield dayOf(t);
  }

  return {
    received(call, goalId, reason) {
      const goalDays = entry(byGoal, `${call.customerId}|${goalId}`, () => new Map());
      const counts = entry(goalDays, dayOf(call.nowMs), () => ({ success: 0, unattributed: new Map() }));
      if (reason) counts.unattributed.set(reason, (counts.unattributed.get(reason) ?? 0) + 1);
      else counts.success++;
      accountDay(call).success++;
    },
    failed(call, count) {
      if (count > 0) accountDay(call).failure += count;
    },
    reportsByGoalIds(goals, call, body) {
      const r = range(call, body);
      if ('answer' in r) return r.answer;
      const ids = (body as { GoalIds?: unknown }).GoalIds ?? null;
      if (ids !== null && !Array.isArray(ids))
        return malformedRequest(call.trackingId, 'GoalIds must be an array.');
      // No ids: every offline goal the account sees [UNVERIFIED: Microsoft may require ids].
      const wanted =
        ids === null || ids.length === 0
          ? goals.list(call.customerId).filter((g) => goals.visibleTo(g, call.customerId, call.accountId))
          : ids.map((id) =>
              typeof id === 'string' || typeof id === 'number' ? goals.byId(String(id)) : undefined,
            );
      const partialErrors: WireBatchError[] = [];
      const summaries: WireOfflineGoalConversionSummary[] = [];
      wanted.forEach((goal, index) => {
        if (!goal || !goals.visibleTo(goal, call.customerId, call.accountId)) {
          partialErrors.push(batchError(5314, index, 'GoalIds'));
          return;
        }
        const goalDays = byGoal.get(`${call.customerId}|${goal.id}`);
        const daily: WireOfflineGoalDailySummary[] = [];
        const overall = new Map<WireUnattributedReason, number>();
        let success = 0;
        let unattributed = 0;
        for (const day of days(r.start, r.end)) {
          const counts = goalDays?.get(day);
          if (!counts) continue;
          const dayUnattributed = [...counts.unattributed.values()].reduce((a, b) => a + b, 0);
          for (const [reason, n] of counts.unattributed) overall.set(reason, (overall.get(reason) ?? 0) + n);
          success += counts.success;
          unattributed += dayUnattributed;
          daily.push({
            GoalId: goal.id,
            UploadDate: `${day}T00:00:00`,
            SuccessCount: counts.success,
            UnattributedCount: dayUnattributed,
            SuccessRate: rate(counts.success, dayUnattributed),
            Alerts: alerts(counts.unattributed),
          });
        }
        summaries.push({
          GoalId: goal.id,
          ConversionName: goal.name,
          OverallSuccessCount: String(success),
          OverallUnattributedCount: String(unattributed),
          OverallSuccessRate: rate(success, unattributed),
          OverallAlerts: alerts(overall),
          DailySummaries: daily,
        });
      });
      return ok({ OfflineGoalConversionSummaries: summaries, PartialErrors: partialErrors });
    },
    reports(call, body) {
      const r = range(call, body);
      if ('answer' in r) return r.answer;
      const accountDays = byAccount.get(`${call.customerId}|${call.accountId}`);
      const summaries = [...days(r.start, r.end)].flatMap((day) => {
        const counts = accountDays?.get(day);
        return counts
          ? [
              {
                UploadDate: `${day}T00:00:00`,
                SuccessCount: counts.success,
                FailureCount: counts.failure,
                FileUrl: null,
                FileUrlExpiryTimeUtc: null,
              },
            ]
          : [];
      });
      return ok({ DailySummaries: summaries });
    },
    reset() {
      byGoal.clear();
      byAccount.clear();
    },
  };
}

/** The value of `key`, made and stored first when missing. */
function entry<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

const rate = (success: number, unattributed: number) =>
  success + unattributed === 0 ? 0 : Math.round((success / (success + unattributed)) * 10_000) / 100;

function alerts(counts: Map<WireUnattributedReason, number>): WireOfflineConversionAlert[] {
  return [...counts].map(([reason, n]) => ({ UnattributedReason: reason, Count: String(n) }));
}
