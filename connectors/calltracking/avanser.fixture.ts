/**
 * An Avanser Generic Webhook as the template in docs/call-tracking-providers.md makes it: a POST with an XML
 * body (Avanser fills the codes), start time in the account's zone (Australia/Sydney).
 */

import { wallClock } from './call-times.ts';
import { landingUrlFor } from './parse.ts';

/** The zone the fixture's `start` is written in: the source must set `timeZone` to it. */
export const fixtureTimeZone = 'Australia/Sydney';

const escapeXml = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function sampleDelivery(call: {
  callId: string;
  msclkid: string | null;
  startUtc: Date;
  durationSec: number;
  value?: string;
}): { method: 'GET' | 'POST'; headers: Record<string, string>; body: string; query: Record<string, string> } {
  const fields: [string, string][] = [
    ['id', call.callId],
    ['start', wallClock(call.startUtc, fixtureTimeZone)],
    ['caller', '+61412345678'],
    ['duration', String(call.durationSec)],
    ['status', 'ANSWERED'],
    ['landing', landingUrlFor('https://www.example.com.au', call.msclkid)],
    ['msclkid', call.msclkid ?? ''],
  ];
  if (call.value !== undefined) fields.push(['value', call.value], ['currency', 'AUD']);
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<call>\n${fields
    .map(([name, value]) => `  <${name}>${escapeXml(value)}</${name}>`)
    .join('\n')}\n</call>\n`;
  return { method: 'POST', headers: { 'content-type': 'application/xml' }, body, query: {} };
}
