/**
 * Small readers the call adapters share: a provider's JSON numbers and strings, epoch times, and the
 * click ID in a landing URL. Pure, like the adapters. The lenient forms of parse.ts's and call-times.ts's
 * readers (the generic and CallTrackingMetrics adapters take a malformed field as absent).
 */

import { epoch } from './call-times.ts';
import { CallInputError, seconds as strictSeconds, text as strictText } from './parse.ts';

export { msclkidFromUrl } from './parse.ts';

/** Null instead of an error: these adapters read what a provider documents and drop what is malformed. */
function lenient<T>(read: (raw: unknown, field: string) => T | null): (value: unknown) => T | null {
  return (value) => {
    try {
      return read(value, '');
    } catch (err) {
      if (err instanceof CallInputError) return null;
      throw err;
    }
  };
}

/** A whole number of seconds (185, "185", "185.4", "00:03:05"); null when absent or not seconds. */
export const seconds = lenient(strictSeconds);

/** A non-empty trimmed string (numbers written as text), else null. */
export const text = lenient(strictText);

/** Epoch seconds or milliseconds (told apart by magnitude: above 1e12 is milliseconds) as a Date. */
export function epochTime(value: unknown): Date | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0 || (typeof value === 'string' && value.trim() === '')) return null;
  // To the second: Microsoft's conversion time has no fractions, and adjustments must repeat it exactly.
  return new Date(Math.floor(epoch(n).getTime() / 1000) * 1000);
}

/** The body as one JSON object, or why it is not one. */
export function jsonObject(
  body: Uint8Array,
): { ok: true; value: Record<string, unknown> } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (err) {
    return { ok: false, reason: `The body is not valid JSON (${(err as Error).message}).` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { ok: false, reason: 'The body is JSON but not an object ({…}).' };
  return { ok: true, value: value as Record<string, unknown> };
}
