import { and, asc, eq, isNotNull, sql } from 'drizzle-orm';
import type { NormalizedCall } from '../../connectors/calltracking/types.ts';
import {
  type Goal,
  type Upload,
  uploads,
  type WebhookEvent,
  type WebhookSource,
  webhookEvents,
  webhookSources,
} from '../db/schema/index.ts';
import { ts } from '../db/sql.ts';
import { type CallDecision, type CallFacts, decideCall, type SentCall } from '../domain/call-rules.ts';
import { checkRow, type GoalFacts, type RowCells, type RowField } from '../domain/conversion-rules.ts';
import { goalDirectory } from '../domain/goal-names.ts';
import { parseApiTime } from '../domain/time.ts';
import { applyUpload } from '../ingest/apply.ts';
import {
  arrayLiteral,
  checkedToRow,
  createUpload,
  failUpload,
  finishPreview,
  rowWriter,
} from '../ingest/stage.ts';
import type { ServiceContext } from './context.ts';
import { listGoals } from './goals.ts';

/**
 * The processor: received calls (webhook events) become ledger conversions and adjustments after the
 * provider has its 2xx, in batches, through the same staging → checks → ledger path as files and the
 * JSON API (an upload with source 'call' per batch and kind). One process works on a source at a time
 * (a lease taken by compare-and-set), so the decisions per call id see every earlier one.
 *
 * Crash safety: each event records the upload row it was staged as before the upload is applied. A
 * processor that dies is replaced (its lease runs out): staged events whose upload was applied are only
 * finalized, an upload that was previewed is applied, one interrupted while staging is dropped and its
 * events decided again. An event is processed once, whatever the moment of the kill.
 */

/** Events per batch: one upload of at most Microsoft's 1,000 items per call. */
export const processBatchSize = 1000;
/** A processor that holds a source longer than this is taken for dead; another one takes over. */
export const processLeaseMs = 5 * 60 * 1000;

export interface ProcessReport {
  events: number;
  outcomes: Record<string, number>;
}

/** Process pending events of every source until none is left (or `maxBatches` batches were done). */
export async function processWebhookEvents({
  ctx,
  batchSize = processBatchSize,
  maxBatches = Number.POSITIVE_INFINITY,
}: {
  ctx: ServiceContext;
  batchSize?: number;
  maxBatches?: number;
}): Promise<ProcessReport> {
  const report: ProcessReport = { events: 0, outcomes: {} };
  for (let batches = 0; batches < maxBatches; batches++) {
    const claimed = await claimSource(ctx);
    if (!claimed) break;
    try {
      const done = await processSource(ctx, claimed.source, batchSize);
      report.events += done.events;
      for (const [k, n] of Object.entries(done.outcomes)) report.outcomes[k] = (report.outcomes[k] ?? 0) + n;
    } finally {
      await releaseSource(ctx, claimed);
    }
  }
  return report;
}

interface Claim {
  source: WebhookSource;
  until: Date;
}

/** A source with pending events and no live lease, leased to this process (compare-and-set; one winner). */
async function claimSource(ctx: ServiceContext): Promise<Claim | undefined> {
  const now = ctx.now();
  const until = new Date(now.getTime() + processLeaseMs);
  const rows = await ctx.database.query<{ id: string }>(sql`
    update webhook_sources set processing_until = ${ts(until)}
     where id = (select s.id from webhook_sources s
                  where s.customer_id = ${ctx.customerId}
                    and (s.processing_until is null or s.processing_until < ${ts(now)})
                    and exists (select 1 from webhook_events e where e.source_id = s.id and e.state = 'pending')
                  order by s.processing_until nulls first, s.id limit 1
                  for update skip locked)
       and (processing_until is null or processing_until < ${ts(now)})
    returning id`);
  if (!rows[0]) return undefined;
  const [source] = await ctx.database.db
    .select()
    .from(webhookSources)
    .where(eq(webhookSources.id, rows[0].id));
  return source ? { source, until } : undefined;
}

async function releaseSource(ctx: ServiceContext, claim: Claim) {
  await ctx.database.query(sql`
    update webhook_sources set processing_until = null
     where id = ${claim.source.id} and processing_until = ${ts(claim.until)}`);
}

async function processSource(
  ctx: ServiceContext,
  source: WebhookSource,
  batchSize: number,
): Promise<ProcessReport> {
  const resumed = await resumeStaged(ctx, source);
  const events = await ctx.database.db
    .select()
    .from(webhookEvents)
    .where(and(eq(webhookEvents.sourceId, source.id), eq(webhookEvents.state, 'pending')))
    .orderBy(asc(webhookEvents.id))
    .limit(batchSize);
  if (events.length === 0) return tally(await outcomesOf(ctx, resumed));
  const goals = await listGoals({ ctx });
  const goal = goals.find((g) => g.id === source.goalId);
  if (!goal) {
    await settle(
      ctx,
      events.map((e) => ({
        id: e.id,
        outcome: 'rejected',
        reason: "the source's goal no longer exists; point the source at a goal (PATCH /api/v1/webhooks/:id)",
      })),
    );
    return tally(await outcomesOf(ctx, [...resumed, ...events.map((e) => e.id)]));
  }
  const sent = await sentCalls(ctx, source, events);
  const settled: { id: number; outcome: string; reason: string }[] = [];
  const conversions: Staged[] = [];
  const adjustments: Staged[] = [];
  for (const event of events) {
    const call = event.call ? readCall(event.call) : null;
    if (!call) {
      settled.push({ id: event.id, outcome: 'not_qualifying', reason: 'the delivery carries no call' });
      continue;
    }
    const before = sent.get(call.providerCallId) ?? null;
    const decision = decideCall(call, source, before);
    if (decision.outcome === 'not_qualifying' || decision.outcome === 'duplicate_delivery') {
      settled.push({ id: event.id, outcome: decision.outcome, reason: decision.reason });
      continue;
    }
    if (decision.outcome === 'conversion') {
      conversions.push({ event, call, decision, sent: null });
      sent.set(call.providerCallId, { ...decision, retracted: false });
    } else {
      adjustments.push({ event, call, decision, sent: before! });
      sent.set(call.providerCallId, {
        ...before!,
        ...(decision.outcome === 'correction'
          ? { value: decision.value, currency: decision.currency ?? before!.currency }
          : { retracted: true }),
      });
    }
  }
  await settle(ctx, settled);
  const directory = goalDirectory<GoalFacts>(goals);
  if (conversions.length > 0) await stageAndApply(ctx, source, goal, directory, 'conversions', conversions);
  if (adjustments.length > 0) await stageAndApply(ctx, source, goal, directory, 'adjustments', adjustments);
  return tally(await outcomesOf(ctx, [...resumed, ...events.map((e) => e.id)]));
}

interface Staged {
  event: WebhookEvent;
  call: CallFacts;
  decision: Exclude<CallDecision, { outcome: 'not_qualifying' | 'duplicate_delivery' }>;
  sent: SentCall | null;
}

function readCall(stored: Record<string, unknown>): CallFacts {
  const c = stored as unknown as NormalizedCall & { startUtc: string };
  return { ...c, startUtc: new Date(c.startUtc) };
}

/** What was already sent per call id of these events: the conversion's identity, its last value, retracted. */
async function sentCalls(ctx: ServiceContext, source: WebhookSource, events: WebhookEvent[]) {
  const ids = [...new Set(events.map((e) => e.providerCallId).filter((id): id is string => id !== null))];
  const sent = new Map<string, SentCall>();
  if (ids.length === 0) return sent;
  const rows = await ctx.database.query<{
    provider_call_id: string;
    outcome: string;
    value: string | null;
    currency: string | null;
    click_id: string | null;
    conversion_time: Date | string | null;
  }>(sql`
    select e.provider_call_id, e.outcome, e.value, e.currency, c.click_id, c.conversion_time
      from webhook_events e left join conversions c on c.id = e.conversion_id
     where e.source_id = ${source.id} and e.state = 'processed'
       and e.outcome in ('conversion', 'correction', 'retraction')
       and e.provider_call_id = any(${arrayLiteral(ids)}::text[])
     order by e.id`);
  for (const r of rows) {
    const known = sent.get(r.provider_call_id);
    if (r.outcome === 'conversion')
      sent.set(r.provider_call_id, {
        clickId: r.click_id ?? '',
        conversionTime: new Date(r.conversion_time!),
        value: r.value,
        currency: r.currency,
        retracted: false,
      });
    else if (known && r.outcome === 'correction')
      sent.set(r.provider_call_id, { ...known, value: r.value, currency: r.currency ?? known.currency });
    else if (known && r.outcome === 'retraction') sent.set(r.provider_call_id, { ...known, retracted: true });
  }
  return sent;
}

/** The cells of a staged row, as an API item would give them. */
function cells(goal: Goal, s: Staged, now: Date): RowCells {
  const d = s.decision;
  if (d.outcome === 'conversion')
    return {
      clickId: d.clickId,
      conversionName: goal.name,
      conversionTime: d.conversionTime.toISOString(),
      ...(d.value !== null ? { conversionValue: d.value } : {}),
      ...(d.currency !== null && d.value !== null ? { conversionCurrency: d.currency } : {}),
    };
  const identity = {
    clickId: s.sent!.clickId,
    conversionName: goal.name,
    conversionTime: s.sent!.conversionTime.toISOString(),
    adjustmentTime: new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString(),
  };
  if (d.outcome === 'retraction') return { ...identity, adjustmentType: 'Retract' };
  return {
    ...identity,
    adjustmentType: 'Restate',
    adjustmentValue: d.value,
    ...(d.currency !== null ? { adjustmentCurrency: d.currency } : {}),
  };
}

async function stageAndApply(
  ctx: ServiceContext,
  source: WebhookSource,
  goal: Goal,
  directory: ReturnType<typeof goalDirectory<GoalFacts>>,
  kind: 'conversions' | 'adjustments',
  staged: Staged[],
) {
  const now = ctx.now();
  const upload = await createUpload(ctx, { kind, filename: `webhooks:${source.name}`, source: 'call' });
  const writer = rowWriter(ctx, upload.id);
  const links: { id: number; row: number; outcome: string; value: string | null; currency: string | null }[] =
    [];
  for (const [row, s] of staged.entries()) {
    const checked = checkRow(cells(goal, s, now), {
      kind,
      now,
      parseTime: parseApiTime,
      goal: directory.find,
      similarGoal: directory.similar,
      where: `Call ${s.call.providerCallId}`,
      fieldLabel: (field: RowField) => `field ${field}`,
    });
    await writer.add({
      ...checkedToRow(upload.id, row, checked),
      errorColumn: checked.errorField ?? null,
      sourceRef: `call:${source.provider}:${s.call.providerCallId}`,
    });
    const d = s.decision;
    links.push({
      id: s.event.id,
      row,
      outcome: d.outcome,
      value: d.outcome === 'retraction' ? null : (checked.value ?? d.value),
      currency: d.outcome === 'retraction' ? null : (checked.currency ?? d.currency),
    });
  }
  await writer.flush();
  // Linked before the apply: a processor that dies after this point is resumed from the upload.
  await ctx.database.query(sql`
    update webhook_events e
       set upload_id = ${upload.id}::uuid, upload_row = v.row, outcome = v.outcome, value = v.value::numeric,
           currency = v.currency
      from unnest(${arrayLiteral(links.map((l) => String(l.id)))}::text::bigint[],
                  ${arrayLiteral(links.map((l) => String(l.row)))}::text::int[],
                  ${arrayLiteral(links.map((l) => l.outcome))}::text[],
                  ${arrayLiteral(links.map((l) => l.value))}::text[],
                  ${arrayLiteral(links.map((l) => l.currency))}::text[]) as v(id, row, outcome, value, currency)
     where e.id = v.id`);
  const previewed = await finishPreview(ctx, upload, { totalRows: staged.length });
  await applyUpload({ ctx, uploadId: previewed.id });
  await finalize(ctx, upload.id, kind);
}

/**
 * A processor died with events staged: finish what it started (its lease ran out, so nobody else works
 * on the source). Applied: finalize. Previewed: apply, then finalize. Interrupted while staging: drop
 * the upload and decide its events again.
 */
async function resumeStaged(ctx: ServiceContext, source: WebhookSource): Promise<number[]> {
  const linked = await ctx.database.db
    .select({ id: webhookEvents.id })
    .from(webhookEvents)
    .where(
      and(
        eq(webhookEvents.sourceId, source.id),
        eq(webhookEvents.state, 'pending'),
        isNotNull(webhookEvents.uploadId),
      ),
    );
  if (linked.length === 0) return [];
  const rows = await ctx.database.db
    .selectDistinct({ upload: uploads })
    .from(webhookEvents)
    .innerJoin(uploads, eq(uploads.id, webhookEvents.uploadId))
    .where(
      and(
        eq(webhookEvents.sourceId, source.id),
        eq(webhookEvents.state, 'pending'),
        isNotNull(webhookEvents.uploadId),
      ),
    );
  for (const { upload } of rows.sort((a, b) => a.upload.createdAt.getTime() - b.upload.createdAt.getTime())) {
    if (upload.status === 'previewed') await applyUpload({ ctx, uploadId: upload.id });
    else if (upload.status === 'previewing' || upload.status === 'failed') {
      await unlink(ctx, upload);
      continue;
    }
    await finalize(ctx, upload.id, upload.kind);
  }
  // Events linked to an upload that no longer exists (deleted by retention) are decided again.
  await ctx.database.query(sql`
    update webhook_events e set upload_id = null, upload_row = null, outcome = null, value = null, currency = null
     where e.source_id = ${source.id} and e.state = 'pending' and e.upload_id is not null
       and not exists (select 1 from uploads u where u.id = e.upload_id)`);
  return linked.map((e) => e.id);
}

async function unlink(ctx: ServiceContext, upload: Upload) {
  if (upload.status === 'previewing')
    await failUpload(ctx, upload, {
      code: 'INTERRUPTED',
      message: 'The webhook processor stopped while staging these calls; they are processed again.',
    });
  await ctx.database.query(sql`
    update webhook_events set upload_id = null, upload_row = null, outcome = null, value = null, currency = null
     where upload_id = ${upload.id}::uuid and state = 'pending'`);
}

/** The outcome of each staged event, read from its upload row and the ledger row it made. */
async function finalize(ctx: ServiceContext, uploadId: string, kind: 'conversions' | 'adjustments') {
  const now = ts(ctx.now());
  const ledger = sql.raw(kind);
  const conversionId = kind === 'conversions' ? sql`l.id` : sql`coalesce(l.conversion_id, r.conversion_id)`;
  const adjustmentId = kind === 'conversions' ? sql`null::bigint` : sql`l.id`;
  await ctx.database.query(sql`
    update webhook_events e
       set state = 'processed', processed_at = ${now},
           outcome = case when l.id is null or l.state in ('expired', 'rejected') then 'rejected'
                          when l.state = 'duplicate' then 'duplicate_delivery'
                          else e.outcome end,
           reason = case when l.id is null or l.state in ('duplicate', 'expired', 'rejected')
                         then coalesce(l.message, r.message, 'not taken into the ledger') end,
           conversion_id = ${conversionId}, adjustment_id = ${adjustmentId}
      from upload_rows r left join ${ledger} l on l.upload_id = r.upload_id and l.upload_row = r.row
     where r.upload_id = ${uploadId}::uuid and e.upload_id = r.upload_id and e.upload_row = r.row
       and e.state = 'pending'`);
}

/** Events decided without the ledger (not qualifying, a duplicate delivery), in one statement. */
async function settle(ctx: ServiceContext, settled: { id: number; outcome: string; reason: string }[]) {
  if (settled.length === 0) return;
  await ctx.database.query(sql`
    update webhook_events e set state = 'processed', processed_at = ${ts(ctx.now())}, outcome = v.outcome, reason = v.reason
      from unnest(${arrayLiteral(settled.map((s) => String(s.id)))}::text::bigint[],
                  ${arrayLiteral(settled.map((s) => s.outcome))}::text[],
                  ${arrayLiteral(settled.map((s) => s.reason))}::text[]) as v(id, outcome, reason)
     where e.id = v.id and e.state = 'pending'`);
}

async function outcomesOf(ctx: ServiceContext, ids: number[]) {
  if (ids.length === 0) return [];
  return ctx.database.query<{ outcome: string | null; n: number }>(sql`
    select outcome, count(*)::int as n from webhook_events
     where id = any(${arrayLiteral(ids.map(String))}::text::bigint[]) and state = 'processed'
     group by outcome`);
}

function tally(rows: { outcome: string | null; n: number }[]): ProcessReport {
  const outcomes: Record<string, number> = {};
  let events = 0;
  for (const r of rows) {
    outcomes[r.outcome ?? 'none'] = Number(r.n);
    events += Number(r.n);
  }
  return { events, outcomes };
}
