/**
 * ResponseTap is polled, not pushed: this "delivery" is the page of its pull API for one call, the body of
 * `GET /api/1/accounts/{accountId}/calls/{cdrUniqueId}` as closeloop's poller receives it (method GET, the
 * response's JSON as `body`). `customerNumber`, `campaignName`, `mediumName` and `disposition` are the names
 * seen in public code; the rest are the names responsetap.ts reads by default (unverified, see there).
 * test/fakes/responsetap-server.ts serves such bodies.
 */

import { wallClock } from './call-times.ts';
import { landingUrlFor } from './parse.ts';

/** The zone the fixture's `startTime` is written in: the source must set `timeZone` to it. */
export const fixtureTimeZone = 'Europe/London';

export function callDetail(call: {
  callId: string;
  msclkid: string | null;
  startUtc: Date;
  durationSec: number;
  value?: string;
}): Record<string, unknown> {
  return {
    cdrUniqueId: call.callId,
    startTime: wallClock(call.startUtc, fixtureTimeZone),
    duration: call.durationSec,
    talkTime: Math.max(0, call.durationSec - 9),
    customerNumber: '+447700900456',
    disposition: 'ANSWERED',
    campaignName: 'Bing Search',
    mediumName: 'PPC',
    landingPage: landingUrlFor('https://www.example.co.uk', call.msclkid),
    ...(call.value === undefined ? {} : { value: call.value, currency: 'GBP' }),
  };
}

export function sampleDelivery(call: {
  callId: string;
  msclkid: string | null;
  startUtc: Date;
  durationSec: number;
  value?: string;
}): { method: 'GET' | 'POST'; headers: Record<string, string>; body: string; query: Record<string, string> } {
  return {
    method: 'GET',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(callDetail(call)),
    query: {},
  };
}
