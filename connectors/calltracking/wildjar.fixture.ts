/** A WildJar hook's POST (data_format json, match event = completed) carrying the DetailedCall fields. */
import { landingUrlFor } from './parse.ts';

/** The source's time zone for this fixture: none needed (timestamp is epoch milliseconds). */
export const fixtureTimeZone = 'UTC';

export function sampleDelivery(call: {
  callId: string;
  msclkid: string | null;
  startUtc: Date;
  durationSec: number;
  value?: string;
}): { method: 'GET' | 'POST'; headers: Record<string, string>; body: string; query: Record<string, string> } {
  const stop = new Date(call.startUtc.getTime() + call.durationSec * 1000);
  const body = {
    id: call.callId,
    uuid: '3f1c2b9e-6a4d-4b8e-9a51-0c2d7e8f1a23',
    status: 'answered',
    caller: '+61400000000',
    duration: call.durationSec,
    talk_time: Math.max(0, call.durationSec - 10),
    tracking_number: '+61291234567',
    timestamp: call.startUtc.getTime(),
    date_start_gmt: call.startUtc.toISOString().slice(0, 19),
    date_stop_gmt: stop.toISOString().slice(0, 19),
    local_timezone: 'Australia/Sydney',
    web: {
      landing: landingUrlFor('https://www.example.com.au', call.msclkid),
      msclkid: call.msclkid,
      gclid: null,
      campaign: 'Brand',
    },
    ...(call.value === undefined ? {} : { value: call.value }),
  };
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    query: {},
  };
}
