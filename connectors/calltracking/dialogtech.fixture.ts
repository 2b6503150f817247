/**
 * A DialogTech post-call action as the template in docs/call-tracking-providers.md makes it: a GET whose
 * query carries the call (DialogTech fills the placeholders), start time in the account's zone (America/Chicago).
 */

import { wallClock } from './call-times.ts';
import { landingUrlFor } from './parse.ts';

/** The zone the fixture's `start_time` is written in: the source must set `timeZone` to it. */
export const fixtureTimeZone = 'America/Chicago';

export function sampleDelivery(call: {
  callId: string;
  msclkid: string | null;
  startUtc: Date;
  durationSec: number;
  value?: string;
}): { method: 'GET' | 'POST'; headers: Record<string, string>; body: string; query: Record<string, string> } {
  const query: Record<string, string> = {
    call_id: call.callId,
    start_time_utc: wallClock(call.startUtc, 'UTC'),
    start_time: wallClock(call.startUtc, fixtureTimeZone),
    call_duration: String(call.durationSec),
    caller: '+13125550142',
    dnis: '8005550199',
    landing_page: landingUrlFor('https://www.example.com', call.msclkid),
  };
  if (call.msclkid !== null) query.msclkid = call.msclkid;
  if (call.value !== undefined) query.value = call.value;
  return { method: 'GET', headers: {}, body: '', query };
}
