/**
 * WildJar webhooks (../shared/reference/calltracking-payloads.md §7).
 *
 * Delivery ✔: a hook created with `PUT https://api.trkcall.com/v2/hook` whose `push` has `url`, `method`,
 * `data_format`, `data` (variables filled when the call is processed), `headers`, `retry` and `interval`;
 * `match[]` with the field `event` = `completed` sends finished calls only (WildJar/wildjar-api-php,
 * docs/Model/WebhookDetailed*.md). Signing: none; a custom header or the URL carries our token.
 * Fields ✔ = DetailedCall (docs/Model/DetailedCall.md, DetailedCallAllOfWeb.md, re-read for this adapter):
 * `id`, `status` (answered / abandoned / missed), `caller` (E.164 or "anonymous"), `duration` (seconds incl.
 * ringing and announcements), `talk_time` (null when missed), `timestamp` ("the call timestamp in
 * milliseconds"), `date_start_gmt` (GMT, ISO), `date_start_local` + `local_timezone` (the account's zone),
 * `web{landing, msclkid, …}`.
 * ⚠ The variable syntax of `data` is undocumented, so the body may be the DetailedCall object (nested `web`)
 * or a flat template (`msclkid`, `landing` at the top): both are read. No value or currency field exists:
 * the source's fixed value applies.
 */

import { type CallMapping, mapCall } from './call-mapping.ts';
import { adapterResult, readValues } from './parse.ts';
import type { CallAdapter } from './types.ts';

export const wildjarMapping: CallMapping = {
  names: {
    providerCallId: ['id', 'uuid'],
    startUtc: ['timestamp', 'date_start_gmt'],
    startLocal: ['date_start_local'],
    durationSec: ['duration'],
    talkSec: ['talk_time'],
    answered: ['status'],
    callerE164: ['caller'],
    value: ['value'],
    currency: ['currency'],
    msclkid: ['web.msclkid', 'msclkid'],
    landingUrl: ['web.landing', 'landing'],
  },
  zoneField: 'local_timezone',
};

export const wildjar: CallAdapter = {
  provider: 'wildjar',
  methods: ['POST'],
  auth: 'token',
  parse: (request, options) => adapterResult(() => [mapCall(readValues(request), wildjarMapping, options)]),
};
