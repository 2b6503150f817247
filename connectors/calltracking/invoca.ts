/**
 * Invoca post-call webhooks (../shared/reference/calltracking-payloads.md §2).
 *
 * Delivery ✔: a webhook of type "post-call", format JSON Post, Form Post, XML Post or HTTP GET, whose body
 * is a template built from substitution parameters (invoca.uservoice.com KB 316416, "Webhook overview").
 * Parameter names ✔ = the Transactions API's (Invoca/developer-docs, transactions_api/
 * _advertiser_param_table.rst): `transaction_id` (≤ 32 chars), `start_time_utc` (milliseconds since the
 * epoch), `start_time_local` (the user's zone, with its offset), `calling_phone_number` ("866-555-1234", not
 * E.164), `duration` (seconds, IVR included), `connect_duration` (connected seconds),
 * `corrects_transaction_id`; `revenue` from the signal table (_signal_param_table.rst).
 * ⚠ `msclkid` and `landing_page`: the tag wizard stores the click ID as custom data with partner name
 * `msclkid` and the landing page as `landing_page`, and marketing data is exposed under its partner name
 * (_marketing_data_params.rst), so these are the substitution names we expect; not seen in the webhook UI.
 * Corrections ✔: a correction gets a new transaction id and names the one it corrects in
 * `corrects_transaction_id` (signal_api/index.rst): providerCallId = the corrected id, correctionId = the new.
 * Currency: none per transaction (the tenant/goal default applies). Signing: none documented (URL token).
 * Searched again (docs corpus, "Invoca webhook substitution parameters"): nothing beyond the reference.
 */

import { type CallMapping, mapCall } from './call-mapping.ts';
import { adapterResult, e164, readValues, text, valueAt } from './parse.ts';
import type { CallAdapter } from './types.ts';

export const invocaMapping: CallMapping = {
  names: {
    providerCallId: ['transaction_id'],
    startUtc: ['start_time_utc'],
    startLocal: ['start_time_local'],
    durationSec: ['duration'],
    talkSec: ['connect_duration'],
    callerE164: ['calling_phone_number'],
    value: ['revenue'],
    currency: ['currency'],
    msclkid: ['msclkid'],
    landingUrl: ['landing_page'],
  },
};

/** Invoca is North American: a 10-digit "866-555-1234" (its documented format) is +1 NANP. */
function invocaCaller(raw: unknown): string | null {
  const value = text(raw, 'calling_phone_number');
  if (value === null) return null;
  const digits = value.replace(/[\s().-]/g, '');
  if (/^[2-9]\d{9}$/.test(digits)) return `+1${digits}`;
  if (/^1[2-9]\d{9}$/.test(digits)) return `+${digits}`;
  return e164(value, 'calling_phone_number');
}

export const invoca: CallAdapter = {
  provider: 'invoca',
  methods: ['GET', 'POST'],
  auth: 'token',
  parse: (request, options) =>
    adapterResult(() => {
      const values = readValues(request);
      const call = mapCall(values, invocaMapping, options);
      call.callerE164 = invocaCaller(valueAt(values, options.fields?.callerE164 ?? 'calling_phone_number'));
      const corrects = text(valueAt(values, 'corrects_transaction_id'), 'corrects_transaction_id');
      if (corrects !== null && corrects !== call.providerCallId) {
        call.correctionId = call.providerCallId;
        call.providerCallId = corrects;
      }
      return [call];
    }),
};
