/** An Infinity Call Out URL request: a GET whose parameters are the Param Mappings docs/call-tracking-providers.md lists. */

import { wallClock } from './call-times.ts';
import { landingUrlFor } from './parse.ts';

/** The source's time zone for this fixture: none needed (dt is UTC, as Infinity documents). */
export const fixtureTimeZone = 'UTC';

export function sampleDelivery(call: {
  callId: string;
  msclkid: string | null;
  startUtc: Date;
  durationSec: number;
  value?: string;
}): { method: 'GET' | 'POST'; headers: Record<string, string>; body: string; query: Record<string, string> } {
  const query: Record<string, string> = {
    igrp: '1234',
    callRef: call.callId,
    dt: wallClock(call.startUtc, 'UTC'),
    srcPhoneNumber: '+447700900123',
    dialledPhoneNumber: '+441134960000',
    callDuration: String(call.durationSec),
    bridgeDuration: String(Math.max(0, call.durationSec - 8)),
    landingPageUrl: landingUrlFor('https://www.example.co.uk', call.msclkid),
  };
  if (call.msclkid !== null) query.pt_msclkid = call.msclkid;
  if (call.value !== undefined) {
    query.txv = call.value;
    query.txc = 'GBP';
  }
  return { method: 'GET', headers: {}, body: '', query };
}
