import { randomBytes } from 'node:crypto';
import { and, asc, desc, eq, lt, sql } from 'drizzle-orm';
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { genericField, genericKeys } from '../../connectors/calltracking/generic.ts';
import { callAdapters } from '../../connectors/calltracking/index.ts';
import {
  adjustments,
  conversions,
  type WebhookEvent,
  type WebhookSource,
  webhookEvents,
  webhookSources,
} from '../db/schema/index.ts';
import { closest as closestName } from '../domain/closest.ts';
import { parseCurrency, parseValue } from '../domain/values.ts';
import { AppError } from '../errors.ts';
import type { Secrets } from '../secrets.ts';
import type { ServiceContext } from './context.ts';
import { getGoal } from './goals.ts';
import { isUuid } from './ids.ts';
import { validationError } from './zod-error.ts';

/** The providers closeloop receives calls from, sorted (the registry in connectors/calltracking). */
export const callProviders = () => Object.keys(callAdapters).sort();

export function adapterFor(provider: string) {
  const adapter = callAdapters[provider];
  if (!adapter) {
    const meant = closestName(provider, callProviders());
    throw new AppError(
      'validation_failed',
      `Unknown call-tracking provider "${provider}".${meant ? ` Did you mean "${meant}"?` : ''} Providers: ${callProviders().join(', ')}.`,
    );
  }
  return adapter;
}

const seconds = z.number().int().min(0).max(86_400);
export const webhookSourceInput = z.strictObject({
  provider: z.string().min(1),
  name: z.string().trim().min(1).max(100),
  goal: z.string().min(1),
  minDurationSec: seconds.optional(),
  minTalkSec: seconds.optional(),
  answeredOnly: z.boolean().optional(),
  /** A fixed value for every call (with currency); without it the payload's value is used. */
  value: z.union([z.string(), z.number()]).transform(String).optional(),
  currency: z.string().optional(),
  fields: z.record(z.string(), z.string().min(1)).optional(),
  timeZone: z
    .string()
    .refine((zone) => IANAZone.isValidZone(zone), 'not an IANA time zone, e.g. Europe/London')
    .optional(),
  /** CTM's account secret, or a polled provider's API key. */
  secret: z.string().min(1).optional(),
  /** Optional basic auth the provider sends, "user:password". */
  basicAuth: z
    .string()
    .regex(/^[^:]+:.+$/, 'write it as user:password')
    .optional(),
  account: z.string().min(1).optional(),
  baseUrl: z.url().optional(),
});
export type WebhookSourceInput = z.input<typeof webhookSourceInput>;
export const webhookSourcePatch = webhookSourceInput.omit({ provider: true }).partial();

/** A source's secret token, for providers that cannot sign: 24 random bytes, URL-safe. */
const newSourceToken = () => randomBytes(24).toString('base64url');

/** A source as shown to users: no secret, no token (the URL with the token is shown by `endpoint`). */
export function webhookSourceView(s: WebhookSource, goalName: string) {
  return {
    id: s.id,
    provider: s.provider,
    name: s.name,
    goal: goalName,
    path: webhookPath(s),
    minDurationSec: s.minDurationSec,
    minTalkSec: s.minTalkSec,
    answeredOnly: s.answeredOnly,
    value:
      s.valueMode === 'fixed'
        ? { fixed: s.fixedValue, currency: s.currency }
        : { fromPayload: true, currency: s.currency },
    fields: s.fields,
    timeZone: s.timeZone,
    hasSecret: s.secretEnc !== null,
    basicAuth: s.basicAuthEnc !== null,
    ...(adapterFor(s.provider).poller
      ? {
          account: s.accountRef,
          baseUrl: s.baseUrl,
          nextPollAt: s.nextPollAt?.toISOString() ?? null,
          lastPollError: s.lastPollError,
        }
      : {}),
    createdAt: s.createdAt.toISOString(),
  };
}

export const webhookPath = (s: Pick<WebhookSource, 'provider' | 'id'>) => `/webhooks/${s.provider}/${s.id}`;

/**
 * What to paste into the provider: the URL, with the token for providers that cannot sign. `publicUrl`
 * is where the provider reaches closeloop (CLOSELOOP_PUBLIC_URL, e.g. https://calls.example.com).
 */
export function webhookEndpoint(s: WebhookSource, secrets: Secrets, publicUrl: string) {
  const path = webhookPath(s);
  const auth = adapterFor(s.provider).auth;
  const url = new URL(path, publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`);
  if (auth === 'token') url.searchParams.set('token', secrets.decrypt(s.tokenEnc));
  return { id: s.id, path, url: auth === 'polled' ? null : url.toString() };
}

function checkedSettings(input: z.output<typeof webhookSourcePatch>, provider: string) {
  const adapter = adapterFor(provider);
  if (input.value !== undefined) {
    const v = parseValue(input.value);
    if (!v.ok) throw new AppError('validation_failed', `value: ${v.message}`);
    if (!input.currency)
      throw new AppError(
        'validation_failed',
        'value: a fixed value needs its currency (--currency, e.g. USD).',
      );
  }
  if (input.currency !== undefined) {
    const c = parseCurrency(input.currency);
    if (!c.ok) throw new AppError('validation_failed', `currency: ${c.message}`);
    input.currency = c.value;
  }
  if (input.fields) {
    const fields: Record<string, string> = {};
    for (const [name, param] of Object.entries(input.fields)) {
      const field = genericField(name);
      if (!field)
        throw new AppError(
          'validation_failed',
          `fields: "${name}" is not a call field; use one of ${Object.keys(genericKeys).join(', ')}.`,
        );
      fields[field] = param;
    }
    input.fields = fields;
  }
  if (adapter.auth === 'ctm-signature' && input.secret === undefined)
    throw new AppError(
      'validation_failed',
      `${provider} signs every webhook with the account's secret: give it (--secret-env VAR, the variable that holds it; in CTM: Settings → API Keys, the secret key).`,
    );
  if (adapter.poller && input.secret === undefined)
    throw new AppError(
      'validation_failed',
      `${provider} is polled with its API key: give it (--secret-env VAR).`,
    );
  if (adapter.poller && input.account === undefined)
    throw new AppError(
      'validation_failed',
      `${provider} is polled per account: give its account id (--account ID).`,
    );
}

export async function createWebhookSource({
  ctx,
  secrets,
  input,
}: {
  ctx: ServiceContext;
  secrets: Secrets;
  input: unknown;
}): Promise<WebhookSource> {
  const parsed = webhookSourceInput.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error, 'webhook source');
  const i = parsed.data;
  const adapter = adapterFor(i.provider);
  checkedSettings(i, i.provider);
  const goal = await getGoal({ ctx, idOrName: i.goal });
  try {
    const [row] = await ctx.database.db
      .insert(webhookSources)
      .values({
        customerId: ctx.customerId,
        provider: adapter.provider,
        name: i.name,
        goalId: goal.id,
        minDurationSec: i.minDurationSec ?? null,
        minTalkSec: i.minTalkSec ?? null,
        answeredOnly: i.answeredOnly ?? false,
        valueMode: i.value === undefined ? 'payload' : 'fixed',
        fixedValue: i.value ?? null,
        currency: i.currency ?? null,
        fields: i.fields ?? {},
        timeZone: i.timeZone ?? 'UTC',
        secretEnc: i.secret === undefined ? null : secrets.encrypt(i.secret),
        tokenEnc: secrets.encrypt(newSourceToken()),
        basicAuthEnc: i.basicAuth === undefined ? null : secrets.encrypt(i.basicAuth),
        accountRef: i.account ?? null,
        baseUrl: i.baseUrl ?? null,
        nextPollAt: adapter.poller ? ctx.now() : null,
        createdAt: ctx.now(),
      })
      .returning();
    return row!;
  } catch (err) {
    if (isUniqueViolation(err))
      throw new AppError(
        'conflict',
        `A webhook source named "${i.name}" exists already; choose another name.`,
      );
    throw err;
  }
}

function isUniqueViolation(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e)
    if (e.code === '23505') return true;
  return false;
}

const goalName = sql<string>`(select name from goals g where g.id = ${webhookSources.goalId})`;

export async function listWebhookSources({ ctx }: { ctx: ServiceContext }) {
  return ctx.database.db
    .select({ source: webhookSources, goalName })
    .from(webhookSources)
    .where(eq(webhookSources.customerId, ctx.customerId))
    .orderBy(asc(webhookSources.name));
}

/** A source by id or name (case aside). */
export async function getWebhookSource({ ctx, idOrName }: { ctx: ServiceContext; idOrName: string }) {
  const [row] = await ctx.database.db
    .select({ source: webhookSources, goalName })
    .from(webhookSources)
    .where(
      and(
        eq(webhookSources.customerId, ctx.customerId),
        isUuid(idOrName)
          ? eq(webhookSources.id, idOrName)
          : sql`lower(${webhookSources.name}) = lower(${idOrName})`,
      ),
    );
  if (!row) {
    const names = (await listWebhookSources({ ctx })).map((r) => r.source.name);
    const meant = isUuid(idOrName) ? undefined : closestName(idOrName, names);
    throw new AppError(
      'not_found',
      `No webhook source "${idOrName}".${meant ? ` Did you mean "${meant}"?` : ''} List them with \`closeloop webhooks list\` or GET /api/v1/webhooks.`,
    );
  }
  return row;
}

/**
 * A new secret token for a source: the URL with the old one stops working (within 10 s, the time a
 * receiving process keeps a source in memory: webhook-intake's `sourceCacheMs`). For a URL that leaked, without removing the source
 * and its events. Providers that sign (CallTrackingMetrics) have no token in their URL; polled ones none.
 */
export async function rotateWebhookToken({
  ctx,
  secrets,
  idOrName,
}: {
  ctx: ServiceContext;
  secrets: Secrets;
  idOrName: string;
}): Promise<WebhookSource> {
  const { source } = await getWebhookSource({ ctx, idOrName });
  const auth = adapterFor(source.provider).auth;
  if (auth !== 'token')
    throw new AppError(
      'conflict',
      auth === 'polled'
        ? `"${source.name}" is polled (${source.provider}): it has no URL and no token; change its API key with PATCH /api/v1/webhooks/:id {"secret": …}.`
        : `"${source.name}" (${source.provider}) signs its webhooks with the account secret and has no token in its URL; change the secret instead (PATCH /api/v1/webhooks/:id {"secret": …}).`,
    );
  const [row] = await ctx.database.db
    .update(webhookSources)
    .set({ tokenEnc: secrets.encrypt(newSourceToken()) })
    .where(eq(webhookSources.id, source.id))
    .returning();
  return row!;
}

export async function updateWebhookSource({
  ctx,
  secrets,
  idOrName,
  patch,
}: {
  ctx: ServiceContext;
  secrets: Secrets;
  idOrName: string;
  patch: unknown;
}) {
  const { source } = await getWebhookSource({ ctx, idOrName });
  const parsed = webhookSourcePatch.safeParse(patch);
  if (!parsed.success) throw validationError(parsed.error, 'webhook source change');
  const p = parsed.data;
  checkedSettings(
    {
      ...p,
      secret: p.secret ?? (source.secretEnc ? 'kept' : undefined),
      account: p.account ?? source.accountRef ?? undefined,
      currency: p.currency ?? (p.value !== undefined ? (source.currency ?? undefined) : p.currency),
    },
    source.provider,
  );
  const goalId = p.goal === undefined ? undefined : (await getGoal({ ctx, idOrName: p.goal })).id;
  const set: Partial<typeof webhookSources.$inferInsert> = {
    ...(p.name !== undefined ? { name: p.name } : {}),
    ...(goalId !== undefined ? { goalId } : {}),
    ...(p.minDurationSec !== undefined ? { minDurationSec: p.minDurationSec } : {}),
    ...(p.minTalkSec !== undefined ? { minTalkSec: p.minTalkSec } : {}),
    ...(p.answeredOnly !== undefined ? { answeredOnly: p.answeredOnly } : {}),
    ...(p.value !== undefined ? { valueMode: 'fixed' as const, fixedValue: p.value } : {}),
    ...(p.currency !== undefined ? { currency: p.currency } : {}),
    ...(p.fields !== undefined ? { fields: p.fields } : {}),
    ...(p.timeZone !== undefined ? { timeZone: p.timeZone } : {}),
    ...(p.secret !== undefined ? { secretEnc: secrets.encrypt(p.secret) } : {}),
    ...(p.basicAuth !== undefined ? { basicAuthEnc: secrets.encrypt(p.basicAuth) } : {}),
    ...(p.account !== undefined ? { accountRef: p.account } : {}),
    ...(p.baseUrl !== undefined ? { baseUrl: p.baseUrl } : {}),
  };
  if (Object.keys(set).length === 0) return getWebhookSource({ ctx, idOrName: source.id });
  await ctx.database.db.update(webhookSources).set(set).where(eq(webhookSources.id, source.id));
  return getWebhookSource({ ctx, idOrName: source.id });
}

/** Remove a source and its events; the conversions it made stay in the ledger. */
export async function removeWebhookSource({ ctx, idOrName }: { ctx: ServiceContext; idOrName: string }) {
  const { source } = await getWebhookSource({ ctx, idOrName });
  await ctx.database.db.delete(webhookSources).where(eq(webhookSources.id, source.id));
  return source;
}

/** An event with the state of the ledger row it made (the conversion's, or the adjustment's), if any. */
export type WebhookEventWithLedger = WebhookEvent & { ledgerState: string | null };

export function webhookEventView(e: WebhookEventWithLedger) {
  return {
    id: e.id,
    receivedAt: e.receivedAt.toISOString(),
    method: e.method,
    providerCallId: e.providerCallId,
    state: e.state,
    outcome: e.state === 'processed' ? e.outcome : null,
    reason: e.reason,
    value: e.value,
    currency: e.currency,
    conversionId: e.conversionId,
    adjustmentId: e.adjustmentId,
    /** Where the ledger row it made stands now: queued, held, accepted at Microsoft, rejected … */
    ledgerState: e.ledgerState,
    call: e.call,
    processedAt: e.processedAt?.toISOString() ?? null,
  };
}

/** A source's events, newest first, a page at a time (`before`: an event id from the previous page). */
export async function listWebhookEvents({
  ctx,
  idOrName,
  limit = 100,
  before,
}: {
  ctx: ServiceContext;
  idOrName: string;
  limit?: number;
  before?: number;
}) {
  const { source } = await getWebhookSource({ ctx, idOrName });
  const rows = await ctx.database.db
    .select({ event: webhookEvents, conversionState: conversions.state, adjustmentState: adjustments.state })
    .from(webhookEvents)
    .leftJoin(conversions, eq(conversions.id, webhookEvents.conversionId))
    .leftJoin(adjustments, eq(adjustments.id, webhookEvents.adjustmentId))
    .where(
      and(
        eq(webhookEvents.sourceId, source.id),
        before === undefined ? undefined : lt(webhookEvents.id, before),
      ),
    )
    .orderBy(desc(webhookEvents.id))
    .limit(limit);
  const events: WebhookEventWithLedger[] = rows.map((r) => ({
    ...r.event,
    ledgerState: r.adjustmentState ?? r.conversionState ?? null,
  }));
  return { source, events };
}
