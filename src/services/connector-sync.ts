import { and, eq, getTableColumns, inArray, isNull, lte, or, sql } from 'drizzle-orm';
import type { DealPage, DealRecord } from '../../connectors/deals.ts';
import { type Database, queryVia } from '../db/client.ts';
import {
  type Connector,
  type ConnectorRun,
  type ConnectorRunCounts,
  type CrmDeal,
  connectorRuns,
  connectors,
  crmDeals,
  type Goal,
  goals,
} from '../db/schema/index.ts';
import { checkRow, type GoalFacts, type RowCells } from '../domain/conversion-rules.ts';
import {
  type CrmDecision,
  type CrmSyncFacts,
  type DealState,
  decideDeal,
  emptyDealState,
} from '../domain/crm-rules.ts';
import { parseApiTime } from '../domain/time.ts';
import { AppError } from '../errors.ts';
import { applyUpload } from '../ingest/apply.ts';
import type { AddressPolicy } from '../ingest/sources/address-policy.ts';
import { arrayLiteral, checkedToRow, createUpload, finishPreview, rowWriter } from '../ingest/stage.ts';
import { pausePoint } from '../pause-point.ts';
import type { Secrets } from '../secrets.ts';
import {
  type DealSourceFactory,
  describeCrmError,
  getConnector,
  openSource,
  registrySources,
} from './connectors.ts';
import type { ServiceContext } from './context.ts';

/*
 * One sync of a connector: pull the changed deals a page at a time, decide per deal (src/domain/crm-rules.ts)
 * against what was last sent for it, and put the conversions and adjustments into the ledger through the
 * same staging and checks as files and the JSON API. Each page is one transaction: its ledger rows, the
 * deals' new state, the run's counts and the cursor commit together, so a crash loses at most the page
 * under way, which the next sync reads again, and a page read twice makes nothing twice.
 */

/** A sync holds its connector this long past its last page; a crashed sync's hold runs out by itself. */
export const syncLeaseMs = 10 * 60_000;
/** Skipped deals listed in a run's report (all are counted and kept in crm_deals with their reason). */
const listedSkips = 50;

export type SyncTrigger = 'cli' | 'api' | 'schedule' | 'webhook';

export interface SyncReport {
  runId: string;
  connector: { id: string; name: string; kind: string };
  mode: 'incremental' | 'full' | 'backfill';
  status: 'succeeded' | 'failed';
  error: string | null;
  counts: ConnectorRunCounts;
  /** Up to 50 skipped deals with their reason and what to do (the rest are counted). */
  skippedDeals: { dealId: string; name: string | null; reason: string; message: string }[];
  startedAt: string;
  finishedAt: string;
}

export const emptyCounts = (): ConnectorRunCounts => ({
  dealsRead: 0,
  pages: 0,
  conversions: 0,
  restates: 0,
  retracts: 0,
  unchanged: 0,
  skipped: {},
  rejected: {},
  apiCalls: 0,
});

export async function syncConnector({
  ctx,
  secrets,
  id,
  full = false,
  trigger = 'cli',
  sources = registrySources,
  policy,
  signal,
}: {
  ctx: ServiceContext;
  secrets: Secrets;
  /** Where the connector may connect (CLOSELOOP_ALLOW_PRIVATE_SOURCES). */
  policy: AddressPolicy;
  /** The connector's id or name. */
  id: string;
  /** Re-read every deal (a backfill): nothing already sent is sent again. */
  full?: boolean;
  trigger?: SyncTrigger;
  sources?: DealSourceFactory;
  signal?: AbortSignal;
}): Promise<SyncReport> {
  const found = await getConnector({ ctx, idOrName: id });
  const connector = await takeLease(ctx, found);
  const startedAt = ctx.now();
  const mode = full ? 'full' : connector.cursor === null ? 'backfill' : 'incremental';
  const counts = emptyCounts();
  const skippedDeals: SyncReport['skippedDeals'] = [];
  const [run] = await ctx.database.db
    .insert(connectorRuns)
    .values({ connectorId: connector.id, trigger, mode, status: 'running', counts, startedAt })
    .returning();
  let error: string | null = null;
  try {
    const goal = await goalOf(ctx, connector);
    const source = await openSource({
      ctx,
      secrets,
      connector,
      sources,
      policy,
      events: { onApiCall: () => counts.apiCalls++ },
    });
    let page = 0;
    for await (const dealPage of source.pull(full ? null : connector.cursor, signal)) {
      page++;
      await syncPage({
        ctx,
        connector,
        goal,
        run: run!,
        page: dealPage,
        pageNumber: page,
        backfill: mode !== 'incremental',
        counts,
        skippedDeals,
      });
    }
  } catch (err) {
    error = describeCrmError(err);
  }
  const finishedAt = ctx.now();
  const status = error === null ? 'succeeded' : 'failed';
  await ctx.database.db.transaction(async (tx) => {
    await tx
      .update(connectorRuns)
      .set({ status, counts, error, finishedAt })
      .where(eq(connectorRuns.id, run!.id));
    await tx
      .update(connectors)
      .set({
        leaseUntil: null,
        lastSyncAt: finishedAt,
        lastError: error,
        failures: error === null ? 0 : sql`${connectors.failures} + 1`,
        updatedAt: finishedAt,
      })
      .where(eq(connectors.id, connector.id));
  });
  return {
    runId: run!.id,
    connector: { id: connector.id, name: connector.name, kind: connector.kind },
    mode,
    status,
    error,
    counts,
    skippedDeals,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
  };
}

/** One sync at a time per connector, across processes: a hold on the row, extended by every page. */
async function takeLease(ctx: ServiceContext, c: Connector): Promise<Connector> {
  const now = ctx.now();
  const [held] = await ctx.database.db
    .update(connectors)
    .set({ leaseUntil: new Date(now.getTime() + syncLeaseMs) })
    .where(and(eq(connectors.id, c.id), or(isNull(connectors.leaseUntil), lte(connectors.leaseUntil, now))))
    .returning();
  if (!held)
    throw new AppError(
      'conflict',
      `A sync of connector "${c.name}" is under way (held until ${c.leaseUntil?.toISOString() ?? 'now'}); wait for it to finish, or see its progress with \`closeloop connectors runs "${c.name}"\`.`,
    );
  return held;
}

async function goalOf(ctx: ServiceContext, c: Connector): Promise<Goal> {
  const [goal] = await ctx.database.db.select().from(goals).where(eq(goals.id, c.goalId));
  if (!goal)
    throw new AppError(
      'not_found',
      `The goal of connector "${c.name}" no longer exists; set another one (PATCH /api/v1/connectors/${c.id}).`,
    );
  return goal;
}

interface PageJob {
  ctx: ServiceContext;
  connector: Connector;
  goal: Goal;
  run: ConnectorRun;
  page: DealPage;
  pageNumber: number;
  backfill: boolean;
  counts: ConnectorRunCounts;
  skippedDeals: SyncReport['skippedDeals'];
}

/** A decided deal and the ledger row it produced (set once the page is applied). */
interface Decided {
  deal: DealRecord;
  decision: CrmDecision;
  /** Index of its row in the page's conversions or adjustments upload. */
  row?: number;
  ledgerId?: number | null;
  rejected?: { code: string; message: string };
}

async function syncPage(job: PageJob): Promise<void> {
  const { ctx, connector, counts } = job;
  // Counts change only when the page commits: on a rollback, the copy is discarded.
  const pageCounts = structuredClone(counts);
  const pageSkips: SyncReport['skippedDeals'] = [];
  await ctx.database.db.transaction(async (tx) => {
    const database: Database = { ...ctx.database, db: tx as unknown as Database['db'], query: queryVia(tx) };
    const txCtx: ServiceContext = { ...ctx, database };
    const now = ctx.now();
    // The hold must still be ours: a sync that lost it (it ran past the lease while another took over)
    // stops here rather than writing over the other's cursor.
    const [mine] = await tx
      .select({ leaseUntil: connectors.leaseUntil })
      .from(connectors)
      .where(eq(connectors.id, connector.id))
      .for('update');
    if (!mine?.leaseUntil)
      throw new AppError(
        'conflict',
        `The sync of "${connector.name}" lost its hold on the connector; it stops here.`,
      );

    // The same deal twice in a page (overlap windows): its latest version counts.
    const latest = new Map<string, DealRecord>();
    for (const d of job.page.deals) {
      const seen = latest.get(d.dealId);
      if (!seen || seen.modifiedAt.getTime() <= d.modifiedAt.getTime()) latest.set(d.dealId, d);
    }
    const deals = [...latest.values()];
    pageCounts.dealsRead += job.page.deals.length;
    pageCounts.pages++;
    const stored = await loadStates(
      database,
      connector.id,
      deals.map((d) => d.dealId),
    );
    const facts: CrmSyncFacts = {
      now,
      backfill: job.backfill,
      intervalMs: connector.intervalMinutes * 60_000,
      connectorCurrency: (connector.settings.currency as string | null | undefined) ?? null,
      goalCurrency: job.goal.currency,
    };
    const decided: Decided[] = deals.map((deal) => ({
      deal,
      decision: decideDeal(deal, stateOrNull(stored.get(deal.dealId)), facts),
    }));

    const conversions = decided.filter((d) => d.decision.action === 'conversion');
    const adjustments = decided.filter(
      (d) => d.decision.action === 'restate' || d.decision.action === 'retract',
    );
    if (conversions.length > 0) await separateSameSecond(database, job, conversions);
    if (conversions.length > 0) await stage(txCtx, job, 'conversions', conversions);
    if (adjustments.length > 0) await stage(txCtx, job, 'adjustments', adjustments);

    for (const d of decided) {
      const { decision } = d;
      if (d.rejected) pageCounts.rejected[d.rejected.code] = (pageCounts.rejected[d.rejected.code] ?? 0) + 1;
      else if (decision.action === 'conversion') pageCounts.conversions++;
      else if (decision.action === 'restate') pageCounts.restates++;
      else if (decision.action === 'retract') pageCounts.retracts++;
      else if (decision.action === 'unchanged') pageCounts.unchanged++;
      else pageCounts.skipped[decision.reason] = (pageCounts.skipped[decision.reason] ?? 0) + 1;
      if (decision.action === 'skip' && job.skippedDeals.length + pageSkips.length < listedSkips)
        pageSkips.push({
          dealId: d.deal.dealId,
          name: d.deal.name,
          reason: decision.reason,
          message: decision.message,
        });
    }
    await saveStates(database, connector.id, decided, stored, now);
    await tx
      .update(connectors)
      .set({ cursor: job.page.cursor, leaseUntil: new Date(now.getTime() + syncLeaseMs), updatedAt: now })
      .where(eq(connectors.id, connector.id));
    await tx.update(connectorRuns).set({ counts: pageCounts }).where(eq(connectorRuns.id, job.run.id));
    await pausePoint('crm:page-before-commit');
  });
  Object.assign(counts, pageCounts);
  job.skippedDeals.push(...pageSkips);
}

/**
 * One click, several deals won in the same second: Microsoft would count them as one conversion (same
 * goal, click ID and time), so the later deal's time moves on by a second until it is free, in this page
 * and in the ledger (crm-flow.md, rule C). The moved time is the one stored and repeated by adjustments.
 */
async function separateSameSecond(database: Database, job: PageJob, conversions: Decided[]): Promise<void> {
  const clicks = [...new Set(conversions.map((d) => (d.decision as { clickId: string }).clickId))];
  const rows = await database.query<{
    match_key: string;
    conversion_time: Date | string;
    source_ref: string;
  }>(sql`
    select match_key, conversion_time, source_ref from conversions
     where customer_id = ${job.ctx.customerId} and goal_name = ${job.goal.name} and state <> 'duplicate'
       and match_key = any(${arrayLiteral(clicks)}::text[])`);
  const taken = new Map(
    rows.map((r) => [`${r.match_key}|${new Date(r.conversion_time).getTime()}`, r.source_ref]),
  );
  for (const d of conversions) {
    const decision = d.decision;
    if (decision.action !== 'conversion') continue;
    const ref = `crm:${job.connector.name}:${d.deal.dealId}`;
    let at = decision.conversionTime.getTime();
    for (;;) {
      const owner = taken.get(`${decision.clickId}|${at}`);
      // Free, or this very deal's own conversion (a re-read after a lost state): the ledger marks it a duplicate.
      if (owner === undefined || owner === ref) break;
      at += 1000;
    }
    taken.set(`${decision.clickId}|${at}`, ref);
    if (at !== decision.conversionTime.getTime()) {
      decision.conversionTime = new Date(at);
      decision.state = { ...decision.state, conversionTime: decision.conversionTime };
      decision.bumped = true;
    }
  }
}

async function loadStates(
  database: Database,
  connectorId: string,
  dealIds: string[],
): Promise<Map<string, CrmDeal>> {
  if (dealIds.length === 0) return new Map();
  const rows = await database.db
    .select()
    .from(crmDeals)
    .where(and(eq(crmDeals.connectorId, connectorId), inArray(crmDeals.dealId, dealIds)));
  return new Map(rows.map((r) => [r.dealId, r]));
}

const iso = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

/**
 * The page's conversions (or adjustments) as one upload of source 'crm': checked by checkRow as any file
 * row or API item, staged, applied; then each ledger row gets its deal's reference.
 */
async function stage(
  ctx: ServiceContext,
  job: PageJob,
  kind: 'conversions' | 'adjustments',
  items: Decided[],
): Promise<void> {
  const { connector, goal } = job;
  const upload = await createUpload(ctx, {
    kind,
    filename: `crm:${connector.name}:run:${job.run.id}:page:${job.pageNumber}`,
    source: 'crm',
  });
  const writer = rowWriter(ctx, upload.id);
  const goalFacts: GoalFacts = goal;
  const now = ctx.now();
  for (const [index, d] of items.entries()) {
    d.row = index;
    const cells = cellsOf(d.decision, goal.name);
    const checked = checkRow(cells, {
      kind,
      now,
      parseTime: parseApiTime,
      goal: (name) => (name === goal.name ? goalFacts : undefined),
      where: `Deal ${d.deal.dealId}`,
      fieldLabel: (field) => field,
    });
    if (kind === 'conversions' && d.decision.action === 'conversion') {
      const notes = [
        `click ID from ${d.decision.clickRule}`,
        `time from ${d.decision.timeSource.replaceAll('_', ' ')}`,
      ];
      if (d.decision.clamped) notes.push('won time was in the future: clamped to the sync time');
      if (d.decision.rewon) notes.push('re-won after a retraction: a new conversion');
      if (d.decision.bumped)
        notes.push(
          'another deal of the same click converted in the same second: moved on to the next free second',
        );
      checked.notes.push(`${notes.join('; ')}.`);
    }
    await writer.add({ ...checkedToRow(upload.id, index, checked), errorColumn: checked.errorField ?? null });
  }
  await writer.flush();
  await finishPreview(ctx, upload, { totalRows: items.length });
  await applyUpload({ ctx, uploadId: upload.id });
  const table = sql.raw(kind);
  await ctx.database.query(sql`
    update ${table} l set source_ref = m.ref
      from unnest(${`{${items.map((d) => d.row).join(',')}}`}::int[],
                  ${arrayLiteral(items.map((d) => `crm:${connector.name}:${d.deal.dealId}`))}::text[]) m(row, ref)
     where l.upload_id = ${upload.id} and l.upload_row = m.row`);
  const outcomes = await ctx.database.query<{
    row: number;
    status: string;
    error_code: string | null;
    message: string | null;
    ledger_id: number | null;
  }>(sql`
    select u.row, u.status, u.error_code, u.message, coalesce(l.duplicate_of, l.id) as ledger_id
      from upload_rows u left join ${table} l on l.upload_id = u.upload_id and l.upload_row = u.row
     where u.upload_id = ${upload.id}`);
  const byRow = new Map(outcomes.map((o) => [Number(o.row), o]));
  for (const d of items) {
    const o = byRow.get(d.row!);
    if (!o || o.status === 'rejected')
      d.rejected = { code: o?.error_code ?? 'NOT_STAGED', message: o?.message ?? 'the row was not staged' };
    d.ledgerId = o?.ledger_id === null || o?.ledger_id === undefined ? null : Number(o.ledger_id);
  }
}

function cellsOf(decision: CrmDecision, goalName: string): RowCells {
  if (decision.action === 'conversion')
    return {
      clickId: decision.clickId,
      conversionName: goalName,
      conversionTime: iso(decision.conversionTime),
      conversionValue: decision.value,
      ...(decision.currency ? { conversionCurrency: decision.currency } : {}),
      ...(decision.clickTime ? { clickTime: iso(decision.clickTime) } : {}),
    };
  if (decision.action === 'restate')
    return {
      clickId: decision.clickId,
      conversionName: goalName,
      conversionTime: iso(decision.conversionTime),
      adjustmentType: 'Restate',
      adjustmentTime: iso(decision.adjustmentTime),
      adjustmentValue: decision.value,
      ...(decision.currency ? { adjustmentCurrency: decision.currency } : {}),
    };
  if (decision.action === 'retract')
    return {
      clickId: decision.clickId,
      conversionName: goalName,
      conversionTime: iso(decision.conversionTime),
      adjustmentType: 'Retract',
      adjustmentTime: iso(decision.adjustmentTime),
    };
  throw new Error(`no ledger row for a ${decision.action} decision`);
}

async function saveStates(
  database: Database,
  connectorId: string,
  decided: Decided[],
  stored: Map<string, CrmDeal>,
  now: Date,
): Promise<void> {
  if (decided.length === 0) return;
  const rows = decided.map((d) => {
    const before = stored.get(d.deal.dealId);
    // A conversion the checks refused was not sent: only what the deal taught us (first seen won) is kept.
    const sentNow = d.decision.action === 'conversion' && !d.rejected;
    const state: DealState =
      d.rejected && d.decision.action === 'conversion'
        ? { ...(stateOrNull(before) ?? emptyDealState), firstSeenWonAt: d.decision.state.firstSeenWonAt }
        : d.decision.state;
    const skip =
      d.decision.action === 'skip'
        ? { reason: d.decision.reason, message: d.decision.message }
        : d.rejected
          ? { reason: 'rejected', message: d.rejected.message }
          : null;
    return {
      connectorId,
      dealId: d.deal.dealId,
      name: d.deal.name,
      conversionId: sentNow ? (d.ledgerId ?? null) : (before?.conversionId ?? null),
      conversionTime: state.conversionTime,
      clickId: state.clickId,
      clickRule:
        sentNow && d.decision.action === 'conversion' ? d.decision.clickRule : (before?.clickRule ?? null),
      value: state.value,
      currency: state.currency,
      retracted: state.retracted,
      firstSeenWonAt: state.firstSeenWonAt,
      skipReason: skip?.reason ?? null,
      skipMessage: skip?.message ?? null,
      modifiedAt: d.deal.modifiedAt,
      updatedAt: now,
    };
  });
  await database.db
    .insert(crmDeals)
    .values(rows)
    .onConflictDoUpdate({
      target: [crmDeals.connectorId, crmDeals.dealId],
      // Every column but the key takes the new row's value.
      set: Object.fromEntries(
        Object.entries(getTableColumns(crmDeals))
          .filter(([key]) => key !== 'connectorId' && key !== 'dealId')
          .map(([key, column]) => [key, sql.raw(`excluded.${column.name}`)]),
      ),
    });
}

function stateOrNull(row: CrmDeal | undefined): DealState | null {
  return row ? stateOf(row) : null;
}

/** The stored row as the rules read it. Values compare as the rules write them ("1250.5", not "1250.500"). */
export function stateOf(row: CrmDeal): DealState {
  return {
    conversionTime: row.conversionTime,
    clickId: row.clickId,
    value: row.value === null ? null : String(Number(row.value)),
    currency: row.currency,
    retracted: row.retracted,
    firstSeenWonAt: row.firstSeenWonAt,
  };
}
