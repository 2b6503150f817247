import { and, eq, isNotNull } from 'drizzle-orm';
import { type Account, accounts, goals } from '../db/schema/index.ts';
import { AppError } from '../errors.ts';
import { type MsadsClient, unwrap } from '../msads/client.ts';
import type { WireOfflineConversionAlert, WireUnattributedReason } from '../msads/wire.ts';
import type { ServiceContext } from './context.ts';
import { goalsOfAccount } from './msads-goals.ts';

/**
 * Microsoft's own figures for offline conversions (GetOfflineConversionReportByGoalIds and
 * GetOfflineConversionReports, msads-api.md §12): per goal and day, how many conversions it counted and
 * how many it took but could not attribute, and why. closeloop's ledger says what it sent; this says what
 * Microsoft made of it — the answer to "why does Microsoft show fewer conversions than I uploaded?".
 */

/** What each of Microsoft's unattributed reasons means, and what to do about it. */
export const reasonExplanations: Record<WireUnattributedReason, string> = {
  Unknown: 'Microsoft gave no reason.',
  AdjustmentOriginalNotFound:
    'An adjustment named a conversion Microsoft never received: send the conversion first.',
  ConversionAlreadyRetracted: 'The conversion had been retracted already.',
  DuplicateConversionKey:
    'The same goal, click ID and conversion time arrived again; Microsoft kept the first (not an error).',
  ConversionTimeExceedsMaxLookback: 'The conversion is older than 90 days: send conversions sooner.',
  ConversionTimeInFuture: 'The conversion time is in the future: check the time zone of the file or source.',
  GoalNotFoundOrInactive:
    'The goal does not exist or is paused at Microsoft: resume it (closeloop goals resume).',
  ClickTimestampAfterConversion:
    'The click came after the conversion time: check the time zone of the conversion times.',
  NoMatchingClickFound:
    'Microsoft has no click with this click ID in this account: check that the ID is copied whole and that the click belongs to the account.',
  MissingMatchIdentifiers: 'The row had neither a click ID nor a hashed email or phone.',
  OutsideGoalLookbackWindow:
    "The conversion came after the goal's conversion window closed: widen the window or send sooner.",
  AccountMismatch:
    'The click belongs to another account than the one the conversion was sent to: send it through the account that owns the click.',
  MalformedData: 'Microsoft could not read the row.',
  HistoricalClickDataExpired: 'The click is too old for Microsoft to match.',
};

export interface ReasonCount {
  reason: WireUnattributedReason | string;
  count: number;
  explain: string;
}

export interface GoalDay {
  /** The UTC day Microsoft received the conversions. */
  date: string;
  /** Counted (attributed) by Microsoft. */
  counted: number;
  /** Taken but not attributed. */
  unattributed: number;
  reasons: ReasonCount[];
}

export interface GoalDiagnostics {
  goal: string;
  msadsGoalId: string;
  /** Microsoft's ad account id the figures were asked through. */
  account: string;
  counted: number;
  unattributed: number;
  reasons: ReasonCount[];
  days: GoalDay[];
}

export interface AccountDay {
  date: string;
  /** Rows Microsoft took that day, all goals together. */
  succeeded: number;
  /** Rows Microsoft refused that day. */
  failed: number;
  /** Microsoft's download of the day's per-row results, while it lasts. */
  fileUrl: string | null;
}

export interface Diagnostics {
  from: string;
  to: string;
  goals: GoalDiagnostics[];
  accounts: { account: string; name: string; dryRun: boolean; days: AccountDay[] }[];
  /** Goals not at Microsoft yet, accounts that could not be asked: said, not hidden. */
  notes: string[];
}

export const maxDiagnosticsDays = 90;

export async function msadsDiagnostics({
  ctx,
  clientFor,
  goal,
  days = 7,
}: {
  ctx: ServiceContext;
  clientFor: (account: Account) => MsadsClient;
  /** Only this goal (its exact name). */
  goal?: string;
  /** The last `days` UTC days, today included. @default 7 */
  days?: number;
}): Promise<Diagnostics> {
  if (!Number.isInteger(days) || days < 1 || days > maxDiagnosticsDays)
    throw new AppError(
      'bad_request',
      `days must be a whole number from 1 to ${maxDiagnosticsDays}; got ${days}.`,
    );
  const end = new Date(ctx.now());
  const start = new Date(end.getTime() - (days - 1) * 86_400_000);
  const range = { start, end };
  const notes: string[] = [];

  if (goal !== undefined) {
    const [found] = await ctx.database.db
      .select({ msadsGoalId: goals.msadsGoalId })
      .from(goals)
      .where(and(eq(goals.customerId, ctx.customerId), eq(goals.name, goal)));
    if (!found)
      throw new AppError(
        'not_found',
        `No goal named ${JSON.stringify(goal)}. List goals with closeloop goals list.`,
      );
    if (!found.msadsGoalId)
      notes.push(
        `Goal ${JSON.stringify(goal)} is not at Microsoft yet: it is created there when its first conversion is sent.`,
      );
  }

  const all = await ctx.database.db
    .select()
    .from(accounts)
    .where(eq(accounts.customerId, ctx.customerId))
    .orderBy(accounts.name);
  const result: Diagnostics = { from: day(start), to: day(end), goals: [], accounts: [], notes };
  for (const account of all) {
    const own = await ctx.database.db
      .select({ name: goals.name, msadsGoalId: goals.msadsGoalId })
      .from(goals)
      .where(and(goalsOfAccount({ ...account, id: account.id }), isNotNull(goals.msadsGoalId)))
      .orderBy(goals.name);
    const wanted = goal === undefined ? own : own.filter((g) => g.name === goal);
    if (account.origin === 'dry-run' && !account.isDefault && wanted.length === 0) continue;
    if (account.authStatus === 'reconsent_needed') {
      notes.push(
        `Account ${account.name} needs a new sign-in (closeloop auth login) before Microsoft can be asked.`,
      );
      continue;
    }
    const client = clientFor(account);
    if (goal === undefined) {
      const reports = unwrap(await client.getOfflineConversionReports(range));
      result.accounts.push({
        account: account.msAccountId,
        name: account.name,
        dryRun: account.target === 'emulator',
        days: (reports.DailySummaries ?? []).map((d) => ({
          date: d.UploadDate.slice(0, 10),
          succeeded: Number(d.SuccessCount ?? 0),
          failed: Number(d.FailureCount ?? 0),
          fileUrl: d.FileUrl ?? null,
        })),
      });
    }
    if (wanted.length === 0) continue;
    const byId = new Map(wanted.map((g) => [g.msadsGoalId!, g.name]));
    const answer = unwrap(
      await client.getOfflineConversionReportByGoalIds({ ...range, goalIds: [...byId.keys()] }),
    );
    for (const e of answer.PartialErrors ?? [])
      notes.push(
        `Microsoft could not report goal ${JSON.stringify(wanted[e.Index]?.name ?? `#${e.Index}`)}: ${e.Code} ${e.ErrorCode} ${e.Message}`,
      );
    for (const s of answer.OfflineGoalConversionSummaries ?? []) {
      result.goals.push({
        goal: byId.get(s.GoalId) ?? s.ConversionName,
        msadsGoalId: s.GoalId,
        account: account.msAccountId,
        counted: Number(s.OverallSuccessCount ?? 0),
        unattributed: Number(s.OverallUnattributedCount ?? 0),
        reasons: reasons(s.OverallAlerts),
        days: (s.DailySummaries ?? []).map((d) => ({
          date: d.UploadDate.slice(0, 10),
          counted: Number(d.SuccessCount ?? 0),
          unattributed: Number(d.UnattributedCount ?? 0),
          reasons: reasons(d.Alerts),
        })),
      });
    }
  }
  return result;
}

const day = (d: Date) => d.toISOString().slice(0, 10);

function reasons(alerts: WireOfflineConversionAlert[] | null | undefined): ReasonCount[] {
  return (alerts ?? []).map((a) => ({
    reason: a.UnattributedReason,
    count: Number(a.Count ?? 0),
    explain:
      reasonExplanations[a.UnattributedReason] ??
      'A reason closeloop does not know; see Microsoft Advertising.',
  }));
}
