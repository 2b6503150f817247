import { and, eq, inArray, isNotNull, lte, sql } from 'drizzle-orm';
import { callAdapters } from '../../connectors/calltracking/index.ts';
import { type WebhookSource, webhookEvents, webhookSources } from '../db/schema/index.ts';
import { ts } from '../db/sql.ts';
import type { Logger } from '../log.ts';
import type { Secrets } from '../secrets.ts';
import type { ServiceContext } from './context.ts';
import { storedCall } from './webhook-intake.ts';
import { processWebhookEvents } from './webhook-processor.ts';

/**
 * The background work of call tracking in `closeloop serve`: the processor turns received calls into
 * conversions (woken by each stored webhook, and every `intervalMs` for what other processes stored),
 * and the poller reads calls from providers that only have a pull API.
 */
export function startWebhookProcessing({
  ctx,
  log,
  signal,
  intervalMs = 1000,
  gatherMs = 200,
}: {
  ctx: ServiceContext;
  log: Logger;
  signal: AbortSignal;
  /** How often pending events are looked for without a wake-up (other processes' events). @default 1000 */
  intervalMs?: number;
  /**
   * After a wake-up, how long more events are gathered before a batch starts: a batch's fixed cost (an
   * upload, its checks, one apply) is then shared by many calls under load, and a call waits at most
   * this long more at rest. @default 200
   */
  gatherMs?: number;
}) {
  let wake: (() => void) | undefined;
  let woken = false;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        wake = undefined;
        resolve();
      }
      wake = done;
      signal.addEventListener('abort', done, { once: true });
    });
  const done = (async () => {
    while (!signal.aborted) {
      woken = false;
      try {
        const report = await processWebhookEvents({ ctx });
        if (report.events > 0) log.debug('webhook events processed', { ...report });
      } catch (err) {
        log.error('webhook processing failed', err);
      }
      if (!woken) await sleep(intervalMs);
      // Woken (or events arrived during the batch): gather a little more before the next batch.
      if (woken && !signal.aborted) {
        wake = undefined;
        await new Promise((r) => setTimeout(r, gatherMs));
      }
    }
  })();
  return {
    /** Events were stored: process them soon. */
    wake: () => {
      woken = true;
      wake?.();
    },
    done,
  };
}

/** Providers whose adapter polls a pull API (ResponseTap). */
const polledProviders = () =>
  Object.values(callAdapters)
    .filter((a) => a.poller)
    .map((a) => a.provider);

/**
 * Poll every due source of a polled provider once: each is claimed by compare-and-set on its next poll
 * time (one process wins it), its calls stored as events for the processor, then its cursor saved. A
 * crash between the two re-reads a little next time, which the processor answers as duplicate deliveries.
 */
export async function pollDueSources({
  ctx,
  secrets,
  log,
  fetch = globalThis.fetch,
  signal,
}: {
  ctx: ServiceContext;
  secrets: Secrets;
  log: Logger;
  fetch?: typeof globalThis.fetch;
  signal?: AbortSignal;
}): Promise<number> {
  const providers = polledProviders();
  if (providers.length === 0) return 0;
  const now = ctx.now();
  const due = await ctx.database.db
    .select()
    .from(webhookSources)
    .where(
      and(
        eq(webhookSources.customerId, ctx.customerId),
        inArray(webhookSources.provider, providers),
        isNotNull(webhookSources.nextPollAt),
        lte(webhookSources.nextPollAt, now),
      ),
    );
  let polled = 0;
  for (const source of due) {
    if (!(await claimPoll(ctx, source, now))) continue;
    polled++;
    await pollSource(ctx, source, secrets, fetch, now, signal).catch(async (err) => {
      const message = err instanceof Error ? err.message : String(err);
      log.warn('polling a call-tracking source failed', {
        source: source.name,
        provider: source.provider,
        error: message,
      });
      await ctx.database.db
        .update(webhookSources)
        .set({ lastPollError: message })
        .where(eq(webhookSources.id, source.id));
    });
  }
  return polled;
}

/**
 * Take a due source for one poll: its next poll time moves one interval on, only if it is still due.
 * Of several processes that read the same due source, one wins (the others find it in the future). Not
 * a comparison with the time read: a time stored with microseconds (`now()` in SQL) would never equal
 * the milliseconds JavaScript read back, and the source would never be polled again.
 */
export async function claimPoll(ctx: ServiceContext, source: WebhookSource, now: Date): Promise<boolean> {
  const poller = callAdapters[source.provider]!.poller!;
  const next = new Date(now.getTime() + poller.intervalMs);
  const claimed = await ctx.database.query<{ id: string }>(sql`
    update webhook_sources set next_poll_at = ${ts(next)}
     where id = ${source.id} and next_poll_at <= ${ts(now)} returning id`);
  return claimed.length === 1;
}

async function pollSource(
  ctx: ServiceContext,
  source: WebhookSource,
  secrets: Secrets,
  fetch: typeof globalThis.fetch,
  now: Date,
  signal?: AbortSignal,
) {
  const poller = callAdapters[source.provider]!.poller!;
  const { calls, cursor } = await poller.poll({
    fetch,
    credentials: {
      apiKey: source.secretEnc ? secrets.decrypt(source.secretEnc) : '',
      accountId: source.accountRef ?? '',
    },
    ...(source.baseUrl ? { baseUrl: source.baseUrl } : {}),
    cursor: source.pollCursor,
    now,
    adapter: { fields: source.fields, timeZone: source.timeZone },
    ...(signal ? { signal } : {}),
  });
  if (calls.length > 0)
    await ctx.database.db.insert(webhookEvents).values(
      calls.map((call) => ({
        sourceId: source.id,
        receivedAt: now,
        method: 'POLL' as const,
        call: storedCall(call),
        providerCallId: call.providerCallId,
      })),
    );
  await ctx.database.db
    .update(webhookSources)
    .set({ pollCursor: cursor, lastPollError: null })
    .where(eq(webhookSources.id, source.id));
}

/** serve's poller: every `tickMs`, the sources that are due (each on its adapter's own interval). */
export function startCallPolling(deps: {
  ctx: ServiceContext;
  secrets: Secrets;
  log: Logger;
  signal: AbortSignal;
  fetch?: typeof globalThis.fetch;
  onPolled?: () => void;
  /** @default 5000 */
  tickMs?: number;
}) {
  const tick = async () => {
    try {
      if ((await pollDueSources(deps)) > 0) deps.onPolled?.();
    } catch (err) {
      deps.log.error('call polling failed', err);
    }
  };
  void tick();
  const timer = setInterval(tick, deps.tickMs ?? 5000);
  deps.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
