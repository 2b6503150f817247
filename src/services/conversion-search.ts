import { and, desc, eq, gte, like, lt, type SQL } from 'drizzle-orm';
import { type Conversion, conversions } from '../db/schema/index.ts';
import { type ConversionState, conversionStates } from '../domain/ledger-states.ts';
import { AppError } from '../errors.ts';
import type { ServiceContext } from './context.ts';

export const conversionSources = ['file', 'api', 'crm', 'call'] as const;

/** What the conversions search narrows by; every field optional, all given ones must hold. */
export interface ConversionFilters {
  /** A whole click ID (32 hex characters) or its beginning. */
  clickId?: string;
  /** A goal's exact name. */
  goal?: string;
  source?: (typeof conversionSources)[number];
  state?: ConversionState;
  /** The row's error code as stored (Microsoft's number, or closeloop's own such as CONVERSION_TOO_OLD). */
  errorCode?: string;
  /** Conversion time from this UTC day (YYYY-MM-DD) … */
  from?: string;
  /** … to this UTC day, inclusive. */
  to?: string;
}

const day = /^\d{4}-\d{2}-\d{2}$/;

function dayStart(value: string, field: string): Date {
  const d = new Date(`${value}T00:00:00Z`);
  if (!day.test(value) || Number.isNaN(d.getTime()))
    throw new AppError('bad_request', `${field} must be a day like 2026-06-01; got "${value}".`);
  return d;
}

/**
 * Checks the filters as a form or a link gives them (empty fields are absent) and says what to fix in
 * the first one that is wrong.
 */
export function parseConversionFilters(input: Record<string, string | undefined>): ConversionFilters {
  const f: ConversionFilters = {};
  const get = (k: string) => input[k]?.trim() || undefined;
  const clickId = get('clickId');
  if (clickId !== undefined) {
    if (!/^[0-9a-f]{1,32}$/i.test(clickId))
      throw new AppError(
        'bad_request',
        `Click ID: a Microsoft click ID is 32 hexadecimal characters (0-9, a-f); search by the whole ID or its beginning. Got "${clickId.slice(0, 40)}".`,
      );
    f.clickId = clickId.toLowerCase();
  }
  const goal = get('goal');
  if (goal !== undefined) f.goal = goal.slice(0, 100);
  const source = get('source');
  if (source !== undefined) {
    if (!conversionSources.includes(source as never))
      throw new AppError(
        'bad_request',
        `Source must be one of ${conversionSources.join(', ')}; got "${source}".`,
      );
    f.source = source as ConversionFilters['source'];
  }
  const state = get('state');
  if (state !== undefined) {
    if (!conversionStates.includes(state as never))
      throw new AppError(
        'bad_request',
        `State must be one of ${conversionStates.join(', ')}; got "${state}".`,
      );
    f.state = state as ConversionState;
  }
  const errorCode = get('errorCode');
  if (errorCode !== undefined) f.errorCode = errorCode.slice(0, 100);
  const from = get('from');
  const to = get('to');
  if (from !== undefined) dayStart(from, 'From');
  if (to !== undefined) dayStart(to, 'To');
  if (from !== undefined && to !== undefined && from > to)
    throw new AppError('bad_request', `From (${from}) is after To (${to}); swap them.`);
  if (from !== undefined) f.from = from;
  if (to !== undefined) f.to = to;
  return f;
}

/** The filters as a query string (for links and the next page). */
export function filtersQuery(f: ConversionFilters): URLSearchParams {
  return new URLSearchParams(Object.entries(f).filter((e): e is [string, string] => e[1] !== undefined));
}

function where(ctx: ServiceContext, f: ConversionFilters): SQL | undefined {
  const nextDay = (d: string) => new Date(dayStart(d, 'To').getTime() + 86_400_000);
  return and(
    eq(conversions.customerId, ctx.customerId),
    f.clickId
      ? f.clickId.length === 32
        ? eq(conversions.clickId, f.clickId)
        : like(conversions.clickId, `${f.clickId}%`)
      : undefined,
    f.goal ? eq(conversions.goalName, f.goal) : undefined,
    f.source ? eq(conversions.source, f.source) : undefined,
    f.state ? eq(conversions.state, f.state) : undefined,
    f.errorCode ? eq(conversions.errorCode, f.errorCode) : undefined,
    f.from ? gte(conversions.conversionTime, dayStart(f.from, 'From')) : undefined,
    f.to ? lt(conversions.conversionTime, nextDay(f.to)) : undefined,
  );
}

export interface ConversionPage {
  conversions: Conversion[];
  /** The `before` of the next page (the last row's id), or null on the last page. */
  next: number | null;
}

/** Ledger rows matching the filters, newest first, a page at a time (`before`: the last id seen). */
export async function searchConversions({
  ctx,
  filters,
  before,
  limit = 50,
}: {
  ctx: ServiceContext;
  filters: ConversionFilters;
  before?: number;
  limit?: number;
}): Promise<ConversionPage> {
  const rows = await ctx.database.db
    .select()
    .from(conversions)
    .where(and(where(ctx, filters), before !== undefined ? lt(conversions.id, before) : undefined))
    .orderBy(desc(conversions.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return { conversions: page, next: rows.length > limit ? page[page.length - 1]!.id : null };
}
