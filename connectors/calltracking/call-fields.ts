/**
 * Small readers the call adapters share: a provider's JSON numbers and strings, epoch times, and the
 * click ID in a landing URL. Pure, like the adapters.
 */

/** A landing URL's `msclkid` (the key matched case-insensitively: pages write MSCLKID, msclkid, MsClkId). */
export function msclkidFromUrl(url: string | null): string | null {
  if (!url) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  for (const [key, value] of parsed.searchParams) if (key.toLowerCase() === 'msclkid' && value) return value;
  return null;
}

/** A whole number of seconds from a JSON number or a numeric string; null when absent or not a number. */
export function seconds(value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null;
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
  return Number.isFinite(n) && n >= 0 ? Math.round(n) : null;
}

/** A non-empty trimmed string (numbers written as text), else null. */
export function text(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return null;
  const t = value.trim();
  return t === '' ? null : t;
}

/** Epoch seconds or milliseconds (told apart by magnitude: above 1e12 is milliseconds) as a Date. */
export function epochTime(value: unknown): Date | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0 || (typeof value === 'string' && value.trim() === '')) return null;
  const ms = n > 1e12 ? n : n * 1000;
  // To the second: Microsoft's conversion time has no fractions, and adjustments must repeat it exactly.
  return new Date(Math.floor(ms / 1000) * 1000);
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
