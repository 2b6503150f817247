import { DateTime } from 'luxon';
import { epochTime, jsonObject, msclkidFromUrl, seconds, text } from './call-fields.ts';
import type {
  AdapterOptions,
  AdapterResult,
  CallAdapter,
  FieldOverrides,
  NormalizedCall,
  ProviderRequest,
} from './types.ts';

/**
 * The generic adapter: any other system (CallRail, WhatConverts, Ringba, a script of your own) POSTs
 * one call as JSON in this shape, or sends the same names as GET query parameters:
 *
 *   { "callId": "c-1001", "startTime": "2026-05-01T13:45:10Z", "durationSec": 185, "talkSec": 160,
 *     "answered": true, "caller": "+14155550100", "value": "120.00", "currency": "USD",
 *     "msclkid": "f894f652ea334e739002f7167ab8f8e3", "landingUrl": "https://example.com/?msclkid=…",
 *     "cancelled": false }
 *
 * Only callId and startTime are required. startTime: ISO 8601 with Z or an offset, epoch seconds or
 * milliseconds, or "YYYY-MM-DD HH:MM:SS" read in the source's time zone (UTC unless set). msclkid, when
 * absent, is read from landingUrl's query. Field overrides (`--field callId=call.uuid`) point a name at
 * another key; a dotted key reaches into nested objects.
 */

/** The documented key of each normalized field (what `--field NAME=KEY` overrides). */
export const genericKeys = {
  providerCallId: 'callId',
  correctionId: 'correctionId',
  startUtc: 'startTime',
  startLocal: 'startLocal',
  durationSec: 'durationSec',
  talkSec: 'talkSec',
  answered: 'answered',
  callerE164: 'caller',
  value: 'value',
  currency: 'currency',
  msclkid: 'msclkid',
  landingUrl: 'landingUrl',
  cancelled: 'cancelled',
} as const satisfies Record<keyof FieldOverrides & string, string>;

type Field = keyof typeof genericKeys;

/** Names a user may write in `--field NAME=KEY`: the normalized names and the documented keys. */
export function genericField(name: string): Field | undefined {
  if (name in genericKeys) return name as Field;
  return (Object.keys(genericKeys) as Field[]).find((f) => genericKeys[f] === name);
}

function pick(record: Record<string, unknown>, key: string): unknown {
  if (key in record) return record[key];
  let at: unknown = record;
  for (const part of key.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

function flag(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  const t = text(value)?.toLowerCase();
  if (t === undefined || t === null) return null;
  if (['true', '1', 'yes', 'answered', 'completed'].includes(t)) return true;
  if (['false', '0', 'no', 'missed', 'abandoned', 'unanswered'].includes(t)) return false;
  return null;
}

/** ISO with a zone, epoch s/ms, or a local "YYYY-MM-DD HH:MM:SS" in `zone`. */
export function readStartTime(value: unknown, zone: string): Date | { error: string } | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number' || /^\d+(\.\d+)?$/.test(String(value).trim())) {
    return epochTime(value) ?? { error: `"${String(value)}" is not an epoch time` };
  }
  const t = String(value).trim();
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(t);
  const parsed = hasZone
    ? DateTime.fromISO(t.replace(' ', 'T'), { setZone: true })
    : DateTime.fromISO(t.replace(' ', 'T'), { zone });
  if (!parsed.isValid)
    return {
      error: `"${t}" is not a time (ISO 8601 with Z or an offset, epoch seconds, or YYYY-MM-DD HH:MM:SS)`,
    };
  const ms = parsed.toMillis();
  return new Date(Math.floor(ms / 1000) * 1000);
}

function parseGeneric(request: ProviderRequest, options: AdapterOptions): AdapterResult {
  let record: Record<string, unknown>;
  if (request.method === 'GET') record = request.query;
  else {
    const body = jsonObject(request.body);
    if (!body.ok) return body;
    record = body.value;
  }
  const key = (f: Field) => options.fields?.[f] ?? genericKeys[f];
  const get = (f: Field) => pick(record, key(f));
  const id = text(get('providerCallId'));
  if (!id) return { ok: false, reason: `The call has no "${key('providerCallId')}" (its id).` };
  const zone = options.timeZone ?? 'UTC';
  const local = get('startLocal');
  const start = readStartTime(get('startUtc') ?? local, zone);
  if (start === null)
    return { ok: false, reason: `Call ${id} has no "${key('startUtc')}" (when it started).` };
  if (!(start instanceof Date))
    return { ok: false, reason: `Call ${id}: "${key('startUtc')}" ${start.error}.` };
  const landingUrl = text(get('landingUrl'));
  const call: NormalizedCall = {
    providerCallId: id,
    ...(text(get('correctionId')) ? { correctionId: text(get('correctionId'))! } : {}),
    startUtc: start,
    durationSec: seconds(get('durationSec')),
    talkSec: seconds(get('talkSec')),
    answered: flag(get('answered')),
    callerE164: text(get('callerE164')),
    value: text(get('value')),
    currency: text(get('currency'))?.toUpperCase() ?? null,
    msclkid: text(get('msclkid')) ?? msclkidFromUrl(landingUrl),
    landingUrl,
    cancelled: flag(get('cancelled')) === true,
  };
  return { ok: true, calls: [call] };
}

export const generic: CallAdapter = {
  provider: 'generic',
  methods: ['GET', 'POST'],
  auth: 'token',
  parse: parseGeneric,
};
