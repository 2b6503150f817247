import { msadsCurrencies } from '../../domain/values.ts';
import { maxItemsPerCall, type WireBatchError } from '../wire.ts';
import { type Answer, type Call, ok } from './call.ts';
import type { DiagnosticsStore } from './diagnostics.ts';
import { apiFault, batchError, malformedRequest } from './faults.ts';
import type { GoalStore } from './goals.ts';
import {
  asItem,
  checkConversionTime,
  checkGoalName,
  checkIdentity,
  type ItemContext,
  MalformedRequestError,
  readString,
  readValue,
} from './items.ts';
import type { Ledger } from './ledger.ts';
import type { EmulatorStats, StoredConversion } from './types.ts';

/*
 * ApplyOfflineConversions (msads-api.md §1, §3, §4): every item is checked and every error reported with
 * its Index; items without errors are stored unless their key already arrived. A request Microsoft cannot
 * deserialize is refused whole and nothing of it is stored.
 */

export interface OperationDeps {
  goals: GoalStore;
  ledger: Ledger;
  clicks: ReadonlyMap<string, number>;
  poisoned: ReadonlySet<string>;
  stats: EmulatorStats;
  /** How long after its creation a goal takes conversions (5615 before). */
  goalWarmUpMs: number;
  /** Counts per goal and day for GetOfflineConversionReport(s)ByGoalIds. */
  diagnostics: DiagnosticsStore;
}

/** The request array: undefined when missing or not an array (malformed), [] for null (5600). */
export function requestArray(body: unknown, field: string): unknown[] | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const value = (body as Record<string, unknown>)[field];
  if (value === null) return [];
  return Array.isArray(value) ? value : undefined;
}

function itemContext(deps: OperationDeps, call: Call, errors: WireBatchError[]): ItemContext {
  const { goals, clicks, poisoned, ledger, goalWarmUpMs } = deps;
  return { call, goals, clicks, poisoned, errors, conversionKey: ledger.conversionKey, goalWarmUpMs };
}

/**
 * What both Apply operations do before storing: read the array, refuse an empty one (5600) or one over
 * the limit (5601), check every item (errors collected by index), and count what arrived. A malformed
 * item refuses the whole request, as Microsoft does: nothing of it is stored or counted.
 */
export function receiveItems<T>(
  deps: OperationDeps,
  call: Call,
  request: { body: unknown; field: string; limit: number },
  check: (item: unknown, index: number, ctx: ItemContext) => T | undefined,
): { answer: Answer } | { pending: T[]; errors: WireBatchError[] } {
  const items = requestArray(request.body, request.field);
  if (!items)
    return { answer: malformedRequest(call.trackingId, `The body needs an ${request.field} array.`) };
  if (items.length === 0) return { answer: apiFault(400, call.trackingId, 5600) };
  if (items.length > request.limit) return { answer: apiFault(400, call.trackingId, 5601) };
  const errors: WireBatchError[] = [];
  const ctx = itemContext(deps, call, errors);
  const pending: T[] = [];
  let rejected = 0;
  try {
    for (let index = 0; index < items.length; index++) {
      const before = errors.length;
      const found = check(items[index], index, ctx);
      if (errors.length > before) rejected++;
      else if (found) pending.push(found);
    }
  } catch (err) {
    if (err instanceof MalformedRequestError)
      return { answer: malformedRequest(call.trackingId, err.message) };
    throw err;
  }
  deps.stats.itemsReceived += items.length;
  deps.stats.rejectedItems += rejected;
  return { pending, errors };
}

export function applyOfflineConversions(deps: OperationDeps, call: Call, body: unknown): Answer {
  // Microsoft refuses more than 1,000 offline conversions per call with 5601 (ISS BingAds-Python-SDK#176).
  const received = receiveItems(
    deps,
    call,
    { body, field: 'OfflineConversions', limit: maxItemsPerCall },
    checkConversion,
  );
  if ('answer' in received) return received.answer;
  const { stats, ledger, diagnostics } = deps;
  for (const { key, make, goalId, unmatchedClick } of received.pending) {
    if (ledger.conversions.add(key, make)) {
      stats.accepted++;
      diagnostics.received(call, goalId, unmatchedClick ? 'NoMatchingClickFound' : undefined);
    } else {
      stats.duplicatesIgnored++;
      diagnostics.received(call, goalId, 'DuplicateConversionKey');
    }
  }
  diagnostics.failed(call, new Set(received.errors.map((e) => e.Index)).size);
  return ok({ PartialErrors: received.errors });
}

function checkConversion(
  raw: unknown,
  index: number,
  ctx: ItemContext,
): { key: string; make: () => StoredConversion; goalId: string; unmatchedClick: boolean } | undefined {
  const item = asItem(raw, index);
  if (item === null) {
    ctx.errors.push(batchError(5602, index, null));
    return undefined;
  }
  const { call, errors } = ctx;
  const identity = checkIdentity(item, index, ctx);
  const { name, goal } = checkGoalName(item, index, ctx);
  const time = checkConversionTime(item, index, ctx, true);

  const { value, valid } = readValue(item, 'ConversionValue');
  if (!valid) errors.push(batchError(5610, index, 'ConversionValue'));
  const currency = readString(item, 'ConversionCurrencyCode', index);
  if (currency !== undefined && !msadsCurrencies.has(currency))
    errors.push(batchError(5611, index, 'ConversionCurrencyCode'));

  if (goal && goal.createdAt.getTime() > call.nowMs - ctx.goalWarmUpMs)
    errors.push(batchError(5615, index, 'ConversionName'));
  // Only a registered click has a time to compare with (5616, 5617).
  const clickAt =
    identity.clickId && ctx.clicks.size > 0 ? ctx.clicks.get(identity.clickId.toLowerCase()) : undefined;
  if (goal && clickAt !== undefined && time.ms !== undefined) {
    if (time.ms < clickAt) errors.push(batchError(5616, index, 'ConversionTime'));
    else if (time.ms > clickAt + goal.conversionWindowMinutes * 60_000)
      errors.push(batchError(5617, index, 'MicrosoftClickId'));
  }

  if (!goal || identity.key === undefined || time.ms === undefined || name === undefined) return undefined;
  const { customerId, accountId } = call;
  const key = ctx.conversionKey(accountId, goal.id, identity.key, time.ms);
  const conversionTime = time.text as string;
  const goalId = goal.id;
  return {
    key,
    goalId,
    // Microsoft takes a click it has no record of, and reports it later as not attributed.
    unmatchedClick: identity.clickId !== undefined && ctx.clicks.size > 0 && clickAt === undefined,
    make: () => ({
      customerId,
      accountId,
      goalId,
      conversionName: name,
      ...(identity.clickId !== undefined ? { microsoftClickId: identity.clickId } : {}),
      ...(identity.hashedEmailAddress !== undefined
        ? { hashedEmailAddress: identity.hashedEmailAddress }
        : {}),
      ...(identity.hashedPhoneNumber !== undefined ? { hashedPhoneNumber: identity.hashedPhoneNumber } : {}),
      conversionTime,
      ...(value !== undefined ? { conversionValue: value } : {}),
      ...(currency !== undefined ? { conversionCurrencyCode: currency } : {}),
      receivedAt: new Date(call.nowMs),
      receivedCount: 1,
    }),
  };
}
