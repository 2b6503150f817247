/** The mapping of a provider's parameter names onto a NormalizedCall, shared by the adapters. */
import { startTime } from './call-times.ts';
import {
  CallInputError,
  currencyCode,
  decimal,
  e164,
  flag,
  msclkidFromUrl,
  seconds,
  text,
  type Values,
  valueAt,
} from './parse.ts';
import type { AdapterOptions, FieldOverrides, NormalizedCall } from './types.ts';

/** The normalized fields a provider's parameter names are mapped onto (FieldOverrides' keys). */
export type FieldKey = keyof FieldOverrides;

/** Per field, the provider's parameter names to try, in order (the source's `fields` option replaces them). */
export type FieldNames = Partial<Record<FieldKey, string[]>>;

/** The options of `mapCall`: the provider's names and how its offset-less times read. */
export interface CallMapping {
  names: FieldNames;
  /** The zone of `startUtc`'s offset-less strings: 'UTC' unless the provider says otherwise. */
  utcZone?: string;
  /** A field of the request naming the zone of `startLocal` (WildJar's `local_timezone`). */
  zoneField?: string;
}

/** The first name in `names[key]` (or the override) that the request carries, and its value. */
export function pick(
  values: Values,
  key: FieldKey,
  names: FieldNames,
  fields: FieldOverrides | undefined,
): { name: string; raw: unknown } | null {
  const override = fields?.[key];
  const candidates = override ? [override] : (names[key] ?? []);
  for (const name of candidates) {
    const raw = valueAt(values, name);
    if (raw !== undefined && raw !== null && !(typeof raw === 'string' && raw.trim() === ''))
      return { name, raw };
  }
  return null;
}

function expected(key: FieldKey, names: FieldNames, fields: FieldOverrides | undefined): string {
  const candidates = fields?.[key] ? [fields[key]!] : (names[key] ?? []);
  return candidates.map((name) => `"${name}"`).join(' or ');
}

/**
 * One call from a request's values: each normalized field read from the first of its provider names present
 * (or the source's override), strictly. A call without a click ID is a call (msclkid null), not an error.
 */
export function mapCall(values: Values, mapping: CallMapping, options: AdapterOptions): NormalizedCall {
  const { names } = mapping;
  const { fields } = options;
  const get = (key: FieldKey) => pick(values, key, names, fields);
  const id = get('providerCallId');
  const providerCallId = id ? text(id.raw, id.name) : null;
  if (providerCallId === null) {
    throw new CallInputError(
      `missing the call id: expected the parameter ${expected('providerCallId', names, fields)} (rename it with the source's fields.providerCallId)`,
    );
  }
  const utc = get('startUtc');
  const local = utc ? null : get('startLocal');
  if (!utc && !local) {
    const both = [expected('startUtc', names, fields), expected('startLocal', names, fields)].filter(Boolean);
    throw new CallInputError(`call ${providerCallId}: missing the start time: expected ${both.join(' or ')}`);
  }
  const zoneFromRequest = mapping.zoneField
    ? text(valueAt(values, mapping.zoneField), mapping.zoneField)
    : null;
  const startUtc = utc
    ? startTime(utc.raw, utc.name, mapping.utcZone ?? 'UTC')
    : startTime(local!.raw, local!.name, zoneFromRequest ?? options.timeZone ?? 'UTC');
  const read = <T>(key: FieldKey, parse: (raw: unknown, name: string) => T): T | null => {
    const found = get(key);
    return found ? parse(found.raw, found.name) : null;
  };
  const landingUrl = read('landingUrl', text);
  return {
    providerCallId,
    correctionId: read('correctionId', text) ?? undefined,
    startUtc,
    durationSec: read('durationSec', seconds),
    talkSec: read('talkSec', seconds),
    answered: read('answered', flag),
    callerE164: read('callerE164', e164),
    value: read('value', decimal),
    currency: read('currency', currencyCode),
    msclkid: read('msclkid', text) ?? msclkidFromUrl(landingUrl),
    landingUrl,
    cancelled: read('cancelled', flag) ?? false,
  };
}
