import { msadsCurrencies } from '../../domain/values.ts';
import { maxAdjustmentsPerCall } from '../wire.ts';
import { type Answer, type Call, ok } from './call.ts';
import { type OperationDeps, receiveItems } from './conversions.ts';
import { batchError } from './faults.ts';
import {
  asItem,
  checkConversionTime,
  checkGoalName,
  checkIdentity,
  conversionWindowMs,
  earliestUsableMs,
  type ItemContext,
  readString,
  readTime,
  readValue,
} from './items.ts';
import { timeBytes } from './ledger.ts';
import type { StoredAdjustment } from './types.ts';

/*
 * ApplyOfflineConversionAdjustments (msads-api.md §2, §4 codes 5618–5626). An adjustment whose original
 * conversion never arrived is accepted: Microsoft reports that only asynchronously
 * (AdjustmentOriginalNotFound), so it is stored with originalFound: false.
 */

export function applyOfflineConversionAdjustments(deps: OperationDeps, call: Call, body: unknown): Answer {
  // The adjustment limit is undocumented; the conversion limit (1,000, else 5601) is assumed.
  const received = receiveItems(
    deps,
    call,
    { body, field: 'OfflineConversionAdjustments', limit: maxAdjustmentsPerCall },
    checkAdjustment,
  );
  if ('answer' in received) return received.answer;
  const { stats, ledger } = deps;
  for (const { key, conversion, make } of received.pending) {
    const originalFound = ledger.conversions.has(conversion);
    if (ledger.adjustments.add(key, () => make(originalFound))) stats.adjustments++;
    else stats.duplicatesIgnored++;
  }
  return ok({ PartialErrors: received.errors });
}

interface Pending {
  /** Dedupe key of the adjustment: its conversion, type and time. */
  key: string;
  /** Key of the conversion it adjusts. */
  conversion: string;
  make: (originalFound: boolean) => StoredAdjustment;
}

function checkAdjustment(raw: unknown, index: number, ctx: ItemContext): Pending | undefined {
  const item = asItem(raw, index);
  if (item === null) {
    ctx.errors.push(batchError(5602, index, null));
    return undefined;
  }
  const { call, errors } = ctx;
  const identity = checkIdentity(item, index, ctx);
  const { name, goal } = checkGoalName(item, index, ctx);
  const conversion = checkConversionTime(item, index, ctx, false);

  const type = item.AdjustmentType;
  if (type !== 'Restate' && type !== 'Retract') errors.push(batchError(5618, index, 'AdjustmentType'));

  const adjustmentMs = readTime(item, 'AdjustmentTime', index);
  let usableAdjustmentMs: number | undefined;
  if (adjustmentMs === undefined) errors.push(batchError(5619, index, 'AdjustmentTime'));
  else if (adjustmentMs < earliestUsableMs) errors.push(batchError(5621, index, 'AdjustmentTime'));
  else {
    usableAdjustmentMs = adjustmentMs;
    if (conversion.ms !== undefined && adjustmentMs < conversion.ms)
      errors.push(batchError(5620, index, 'AdjustmentTime'));
    if (adjustmentMs > call.nowMs) errors.push(batchError(5622, index, 'AdjustmentTime'));
    // Which window 5623 means is unverified (msads-api.md §11): here, either time older than 90 days.
    const conversionTooOld = conversion.ms !== undefined && call.nowMs - conversion.ms > conversionWindowMs;
    if (call.nowMs - adjustmentMs > conversionWindowMs || conversionTooOld)
      errors.push(batchError(5623, index, 'AdjustmentTime'));
  }

  const hasValue = item.AdjustmentValue !== undefined && item.AdjustmentValue !== null;
  const { value, valid } = readValue(item, 'AdjustmentValue');
  const currency = readString(item, 'AdjustmentCurrencyCode', index);
  if (type === 'Retract' && hasValue) errors.push(batchError(5624, index, 'AdjustmentValue'));
  if (type === 'Restate') {
    if (!hasValue) errors.push(batchError(5625, index, 'AdjustmentValue'));
    else if (!valid) errors.push(batchError(5610, index, 'AdjustmentValue'));
    // The currency is ignored on Retract; on Restate it falls back to the goal's (5626 when there is none).
    if (currency !== undefined && !msadsCurrencies.has(currency))
      errors.push(batchError(5611, index, 'AdjustmentCurrencyCode'));
    else if (currency === undefined && goal && !goal.revenue.currencyCode)
      errors.push(batchError(5626, index, 'AdjustmentCurrencyCode'));
  }

  if (
    !goal ||
    name === undefined ||
    identity.key === undefined ||
    conversion.ms === undefined ||
    usableAdjustmentMs === undefined
  )
    return undefined;
  const { customerId, accountId } = call;
  const conversionKeyText = ctx.conversionKey(accountId, goal.id, identity.key, conversion.ms);
  const adjustmentType = type as StoredAdjustment['adjustmentType'];
  const adjustmentTime = item.AdjustmentTime as string;
  const conversionTime = conversion.text as string;
  const goalId = goal.id;
  return {
    key: `${conversionKeyText}${adjustmentType}${timeBytes(usableAdjustmentMs)}`,
    conversion: conversionKeyText,
    make: (originalFound) => ({
      customerId,
      accountId,
      goalId,
      adjustmentType,
      adjustmentTime,
      ...(adjustmentType === 'Restate' && value !== undefined ? { adjustmentValue: value } : {}),
      ...(adjustmentType === 'Restate' && currency !== undefined ? { adjustmentCurrencyCode: currency } : {}),
      conversionName: name,
      conversionTime,
      ...(identity.clickId !== undefined ? { microsoftClickId: identity.clickId } : {}),
      ...(identity.hashedEmailAddress !== undefined
        ? { hashedEmailAddress: identity.hashedEmailAddress }
        : {}),
      ...(identity.hashedPhoneNumber !== undefined ? { hashedPhoneNumber: identity.hashedPhoneNumber } : {}),
      originalFound,
      receivedAt: new Date(call.nowMs),
      receivedCount: 1,
    }),
  };
}
