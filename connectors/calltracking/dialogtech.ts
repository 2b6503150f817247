/**
 * DialogTech (now part of Invoca) "Post-Call Action" webhooks (../shared/reference/calltracking-payloads.md §3).
 *
 * Delivery ✔: a URL template whose dynamic parameters DialogTech fills when the call completes; a call may
 * run several post-call actions (apidocs.dialogtech.com/reference/post-call-action; legacy
 * secure.ifbyphone.com/developers.php?a=postcall). The IVR WebHook sends POST or GET. ⚠ The placeholder list
 * is not public (searched again: docs corpus "DialogTech post-call action dynamic parameters", nothing), the
 * API v3 names seen are `ani`, `dnis`, `call_duration`, `ppc_gclid`, `landing_page`; no msclkid field.
 * So this adapter is templated: the user builds the action's URL (GET) or body (POST as form, JSON or XML)
 * with our parameter names below, putting DialogTech's placeholder for each value on the right
 * (docs/call-tracking-providers.md gives the template); the source's `fields` option renames any of them.
 * Times: ⚠ DialogTech's start-time format and zone are undocumented: `start_time_utc` is read as UTC,
 * `start_time` as the account's local time in the source's `timeZone`; epoch seconds/milliseconds and ISO
 * strings with an offset are read as such. The click ID comes from `msclkid`, else the landing page's URL.
 */

import { type CallMapping, mapCall } from './call-mapping.ts';
import { adapterResult, readValues } from './parse.ts';
import type { CallAdapter } from './types.ts';

/** Our parameter names, in the template the docs give; DialogTech's API v3 names as second choices. */
export const dialogtechMapping: CallMapping = {
  names: {
    providerCallId: ['call_id'],
    startUtc: ['start_time_utc'],
    startLocal: ['start_time'],
    durationSec: ['call_duration', 'duration'],
    talkSec: ['talk_time'],
    answered: ['call_status'],
    callerE164: ['caller', 'ani'],
    value: ['value'],
    currency: ['currency'],
    msclkid: ['msclkid'],
    landingUrl: ['landing_page'],
    cancelled: ['cancelled'],
  },
};

export const dialogtech: CallAdapter = {
  provider: 'dialogtech',
  methods: ['GET', 'POST'],
  auth: 'token',
  parse: (request, options) =>
    adapterResult(() => [mapCall(readValues(request), dialogtechMapping, options)]),
};
