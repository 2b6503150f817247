import { createHmac, timingSafeEqual } from 'node:crypto';
import { epochTime, jsonObject, msclkidFromUrl, seconds, text } from './call-fields.ts';
import type { AdapterResult, CallAdapter, NormalizedCall, ProviderRequest } from './types.ts';

/**
 * CallTrackingMetrics: a webhook (Settings → Integrations → Webhooks) POSTs the call as JSON, signed.
 * Facts: ../shared/reference/calltracking-payloads.md §1. The start time is `unix_time` (epoch seconds):
 * `called_at` is account-local and written with or without an offset, so it is never read. There is no
 * msclkid field; the click ID is in the landing page URL, `location`.
 */

/** CTM documents no replay window; a signed time further than this from now is refused. */
export const ctmMaxSkewMs = 5 * 60 * 1000;

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * `X-CTM-Signature` = base64(HMAC-SHA1(account secret, `X-CTM-Time` + raw body)), per CTM's C# sample
 * (calltracking/ctm-csharp). Its generator (Ruby's encode64) appends a newline, so both sides are
 * trimmed. The time is epoch seconds; it must be within ±5 minutes of `now`. Compared in constant time.
 */
export function verifyCtmSignature({
  secret,
  time,
  signature,
  body,
  now,
}: {
  secret: string;
  time: string | undefined;
  signature: string | undefined;
  body: Uint8Array;
  now: Date;
}): SignatureCheck {
  if (!signature) return { ok: false, reason: 'The X-CTM-Signature header is missing.' };
  if (!time) return { ok: false, reason: 'The X-CTM-Time header is missing.' };
  const t = time.trim();
  const sent = /^\d{9,11}$/.test(t) ? Number(t) * 1000 : Number.NaN;
  if (!Number.isFinite(sent)) return { ok: false, reason: 'X-CTM-Time is not epoch seconds.' };
  if (Math.abs(now.getTime() - sent) > ctmMaxSkewMs)
    return { ok: false, reason: 'X-CTM-Time is more than 5 minutes from now (a replay, or a clock off).' };
  const expected = createHmac('sha1', secret).update(t).update(body).digest();
  const given = Buffer.from(signature.trim(), 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'X-CTM-Signature does not match the account secret.' };
  return { ok: true };
}

/** The signature CTM would send for `body` at `time` (tests and the benchmark sign with it). */
export function signCtm(secret: string, time: string, body: Uint8Array | string): string {
  return createHmac('sha1', secret).update(time).update(body).digest('base64');
}

/** dial_status values that say the call was or was not answered (others: unknown). */
const answeredStatus = new Set(['answered', 'completed', 'in-progress']);
const unansweredStatus = new Set([
  'no-answer',
  'no answer',
  'busy',
  'failed',
  'canceled',
  'cancelled',
  'missed',
]);

function parseCtm(request: ProviderRequest): AdapterResult {
  const body = jsonObject(request.body);
  if (!body.ok) return body;
  const call = body.value;
  const id = text(call.id);
  if (!id) return { ok: false, reason: 'The call has no "id".' };
  const startUtc = epochTime(call.unix_time);
  if (!startUtc)
    return {
      ok: false,
      reason: `Call ${id} has no "unix_time" (epoch seconds); closeloop does not read "called_at", whose zone is the account's.`,
    };
  const location = text(call.location);
  const status = text(call.dial_status ?? call.call_status ?? call.status)?.toLowerCase() ?? null;
  const sale = call.sale && typeof call.sale === 'object' ? (call.sale as Record<string, unknown>) : null;
  const normalized: NormalizedCall = {
    providerCallId: id,
    startUtc,
    durationSec: seconds(call.duration),
    talkSec: seconds(call.talk_time),
    answered:
      status === null
        ? null
        : answeredStatus.has(status)
          ? true
          : unansweredStatus.has(status)
            ? false
            : null,
    callerE164: text(call.caller_number_complete) ?? text(call.caller_number),
    value: sale ? text(sale.value) : null,
    currency: null,
    msclkid: msclkidFromUrl(location),
    landingUrl: location,
    cancelled: false,
  };
  return { ok: true, calls: [normalized] };
}

export const calltrackingmetrics: CallAdapter = {
  provider: 'calltrackingmetrics',
  methods: ['POST'],
  auth: 'ctm-signature',
  parse: (request) => parseCtm(request),
};
