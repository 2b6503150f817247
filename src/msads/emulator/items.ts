import type { WireBatchError } from '../wire.ts';
import type { Call } from './call.ts';
import { batchError } from './faults.ts';
import type { GoalStore } from './goals.ts';
import { parseIsoInstant } from './iso-time.ts';
import type { Ledger } from './ledger.ts';
import type { EmulatorGoal } from './types.ts';

/*
 * The checks conversions and adjustments share: reading fields the way a strict deserializer does,
 * the click id or hashes, the goal name and the conversion time (msads-api.md §1, §2, §4).
 */

/** Thrown while reading an item that Microsoft could not deserialize; the whole request is refused. */
export class MalformedRequestError extends Error {
  override name = 'MalformedRequestError';
}

/** An MSCLKID as Microsoft's help describes it: 32 hexadecimal characters. */
const clickIdPattern = /^[0-9a-f]{32}$/i;
/** Microsoft takes conversions up to 90 days old (5609). */
export const conversionWindowMs = 90 * 24 * 60 * 60 * 1000;
/** Microsoft takes conversions for a goal 2 hours after it was created (5615): the default. */
export const goalWarmUpMs = 2 * 60 * 60 * 1000;
/**
 * Times before 2000 are read but unusable (5607): they are what a client sends for an unset date
 * (.NET's 0001-01-01, a zero Unix timestamp), and no Microsoft Advertising click is that old.
 */
export const earliestUsableMs = Date.UTC(2000, 0, 1);

export interface ItemContext {
  call: Call;
  goals: GoalStore;
  /** Registered clicks: lower-case click id → click time (ms). */
  clicks: ReadonlyMap<string, number>;
  /** Lower-case click ids that make a request unreadable. */
  poisoned: ReadonlySet<string>;
  errors: WireBatchError[];
  conversionKey: Ledger['conversionKey'];
  /** How long after its creation a goal takes conversions (5615 before). */
  goalWarmUpMs: number;
}

export type Fields = Record<string, unknown>;

/** An item of the request array: an object, or null (5602). Anything else cannot be deserialized. */
export function asItem(item: unknown, index: number): Fields | null {
  if (item === null) return null;
  if (typeof item !== 'object' || Array.isArray(item))
    throw new MalformedRequestError(`Item ${index} is not an object.`);
  return item as Fields;
}

export function readString(item: Fields, field: string, index: number): string | undefined {
  const value = item[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new MalformedRequestError(`${field} of item ${index} is not a string.`);
  return value;
}

/** A date-time field: undefined when missing or empty, ms otherwise; unreadable text refuses the request. */
export function readTime(item: Fields, field: string, index: number): number | undefined {
  const text = readString(item, field, index);
  if (text === undefined || text.trim() === '') return undefined;
  const ms = parseIsoInstant(text);
  if (ms === undefined)
    throw new MalformedRequestError(
      `${field} of item ${index} (${JSON.stringify(text)}) is not an ISO 8601 date-time.`,
    );
  return ms;
}

export interface Identity {
  clickId: string | undefined;
  hashedEmailAddress: string | undefined;
  hashedPhoneNumber: string | undefined;
  /** The identity part of the dedupe key; undefined when the item has no usable identity. */
  key: string | undefined;
}

/** The MSCLKID, or for enhanced conversions the hashed email/phone (5603, 5604). */
export function checkIdentity(item: Fields, index: number, ctx: ItemContext): Identity {
  const clickId = readString(item, 'MicrosoftClickId', index) || undefined;
  const hashedEmailAddress = readString(item, 'HashedEmailAddress', index) || undefined;
  const hashedPhoneNumber = readString(item, 'HashedPhoneNumber', index) || undefined;
  let key: string | undefined;
  if (clickId === undefined) {
    if (hashedEmailAddress === undefined && hashedPhoneNumber === undefined)
      ctx.errors.push(batchError(5603, index, 'MicrosoftClickId'));
    else key = `h${hashedEmailAddress ?? ''}/${hashedPhoneNumber ?? ''}`.toLowerCase();
  } else {
    const lower = clickId.toLowerCase();
    if (ctx.poisoned.size > 0 && ctx.poisoned.has(lower))
      throw new MalformedRequestError(`MicrosoftClickId of item ${index} could not be read.`);
    if (clickIdPattern.test(clickId)) key = lower;
    else ctx.errors.push(batchError(5604, index, 'MicrosoftClickId'));
  }
  return { clickId, hashedEmailAddress, hashedPhoneNumber, key };
}

/** The goal the ConversionName names, among the offline goals this account sees (5605, 5606). */
export function checkGoalName(
  item: Fields,
  index: number,
  ctx: ItemContext,
): { name: string | undefined; goal: EmulatorGoal | undefined } {
  const name = readString(item, 'ConversionName', index);
  if (name === undefined || name.trim() === '') {
    ctx.errors.push(batchError(5605, index, 'ConversionName'));
    return { name, goal: undefined };
  }
  const { customerId, accountId } = ctx.call;
  const goal = ctx.goals.byName(customerId, name);
  if (goal && ctx.goals.visibleTo(goal, customerId, accountId)) return { name, goal };
  ctx.errors.push(batchError(5606, index, 'ConversionName'));
  return { name, goal: undefined };
}

/**
 * The ConversionTime (5607, 5608, 5609); returns the instant when it is usable for further checks.
 * `future`: also refuse a time after now (5614), as ApplyOfflineConversions does.
 */
export function checkConversionTime(
  item: Fields,
  index: number,
  ctx: ItemContext,
  future: boolean,
): { text: string | undefined; ms: number | undefined } {
  const ms = readTime(item, 'ConversionTime', index);
  const text = item.ConversionTime as string | undefined;
  if (ms === undefined) {
    ctx.errors.push(batchError(5608, index, 'ConversionTime'));
    return { text, ms };
  }
  if (ms < earliestUsableMs) {
    ctx.errors.push(batchError(5607, index, 'ConversionTime'));
    return { text, ms: undefined };
  }
  const { nowMs } = ctx.call;
  if (nowMs - ms > conversionWindowMs) ctx.errors.push(batchError(5609, index, 'ConversionTime'));
  if (future && ms > nowMs) ctx.errors.push(batchError(5614, index, 'ConversionTime'));
  return { text, ms };
}

/** A value field: a finite number from 0 to 999,999,999,999, or absent. */
export function readValue(item: Fields, field: string): { value: number | undefined; valid: boolean } {
  const value = item[field];
  if (value === undefined || value === null) return { value: undefined, valid: true };
  const valid = typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 999_999_999_999;
  return { value: valid ? (value as number) : undefined, valid };
}
