/**
 * Infinity "Call Out URL" integration (../shared/reference/calltracking-payloads.md §4).
 *
 * Delivery ✔ (kb.infinity.co/knowledge-base/article/call-out-url, re-read through the search tool): Infinity
 * sends each trigger "as soon as a particular trigger occurs" to the URL as HTTP GET parameters; the
 * integration's Param Mappings choose which trigger field goes into which GET parameter, and a preview shows
 * the URL. 10-second timeout; without a 200 OK it "will fail repeatedly". No signing: our token rides in the URL.
 * Field names ✔ (event_calls.html, event_basics.html): `dt` (UTC, `YYYY-MM-DD HH:MM:SS`), `srcPhoneNumber`
 * (E.164 or "anonymous"), `callDuration` (answered seconds), `bridgeDuration` (connected seconds), `txv`
 * (transaction value), `txc` (ISO 4217), `txr`; `triggerDatetime` in the reports (UTC unless `tz` is given,
 * reports_v2_basics.html). ⚠ The call's reference is `callRef` in the Event API and `telcoCallRef` in the
 * Call Event API; which one the Call Out URL offers is unverified, so both are read. ⚠ No msclkid field is
 * documented: map `landingPageUrl` (or `href`) and/or a custom `pt_msclkid` / `c_msclkid` variable.
 * Because the parameter names are the user's choice, docs/call-tracking-providers.md gives the mapping to
 * enter (each Infinity field under its own name), and the source's `fields` option renames any of them.
 * Offset-less times are UTC (documented for `dt`) unless the source sets a time zone (Infinity's `tz`).
 */

import { type CallMapping, mapCall } from './call-mapping.ts';
import { adapterResult, readValues } from './parse.ts';
import type { CallAdapter } from './types.ts';

export const infinityMapping: CallMapping = {
  names: {
    providerCallId: ['callRef', 'telcoCallRef'],
    startUtc: ['dt', 'triggerDatetime'],
    durationSec: ['callDuration'],
    talkSec: ['bridgeDuration'],
    callerE164: ['srcPhoneNumber'],
    value: ['txv'],
    currency: ['txc'],
    msclkid: ['pt_msclkid', 'c_msclkid', 'msclkid'],
    landingUrl: ['landingPageUrl', 'href'],
  },
};

export const infinity: CallAdapter = {
  provider: 'infinity',
  methods: ['GET'],
  auth: 'token',
  parse: (request, options) =>
    adapterResult(() => {
      // Infinity documents its times as UTC; a source whose Infinity reports use `tz` sets the same zone.
      const mapping = { ...infinityMapping, utcZone: options.timeZone ?? 'UTC' };
      const call = mapCall(readValues(request), mapping, options);
      // Answered = bridged (a connected leg); Infinity sends 0 for calls that never connected.
      if (call.answered === null && call.talkSec !== null) call.answered = call.talkSec > 0;
      return [call];
    }),
};
