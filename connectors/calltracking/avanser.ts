/**
 * Avanser "Generic Webhook" (../shared/reference/calltracking-payloads.md §6).
 *
 * Delivery ✔ (avanser.zohodesk.com KB "integrations-webhooks"): GET or POST; a POST body is form, XML or JSON;
 * the user maps each parameter name to an Avanser code such as `[[uniqueid]]`. An optional Realtime mode
 * re-sends the call on every status change, and a final (non-realtime) post follows once the recording is
 * processed: the receiver upserts on the call id, `[[uniqueid]]`. ⚠ The other codes (caller, start,
 * duration, landing URL, click ID), their time zone, signing and retries are not public (searched again:
 * pages corpus "Avanser webhook codes", nothing). So this adapter is templated: our parameter names below,
 * with the Avanser code for each value on the right (docs/call-tracking-providers.md gives the template);
 * the source's `fields` option renames any of them.
 * Times: ⚠ `start` is read as the account's local time in the source's `timeZone` (Avanser is Australian:
 * set e.g. Australia/Sydney); `start_utc` as UTC; epoch seconds/milliseconds and ISO strings with an
 * offset are read as such. The click ID comes from `msclkid`, else the landing page's URL.
 */

import { type CallMapping, mapCall } from './call-mapping.ts';
import { adapterResult, readValues } from './parse.ts';
import type { CallAdapter } from './types.ts';

/** Our parameter names, as in the template the docs give (`id` ← `[[uniqueid]]`). */
export const avanserMapping: CallMapping = {
  names: {
    providerCallId: ['id', 'uniqueid'],
    startUtc: ['start_utc'],
    startLocal: ['start'],
    durationSec: ['duration'],
    talkSec: ['talk_time'],
    answered: ['status'],
    callerE164: ['caller'],
    value: ['value'],
    currency: ['currency'],
    msclkid: ['msclkid'],
    landingUrl: ['landing'],
    cancelled: ['cancelled'],
  },
};

export const avanser: CallAdapter = {
  provider: 'avanser',
  methods: ['GET', 'POST'],
  auth: 'token',
  parse: (request, options) => adapterResult(() => [mapCall(readValues(request), avanserMapping, options)]),
};
