/**
 * A CTM webhook as CallTrackingMetrics sends it at the end of a call: the API call object as JSON
 * (fields from the reference, §1), unsigned (the test signs it with X-CTM-Time and X-CTM-Signature).
 */
export function sampleDelivery(call: {
  callId: string;
  msclkid: string | null;
  startUtc: Date;
  durationSec: number;
  value?: string;
}): { method: 'GET' | 'POST'; headers: Record<string, string>; body: string; query: Record<string, string> } {
  const unix = Math.floor(call.startUtc.getTime() / 1000);
  const body = {
    id: Number(call.callId) || call.callId,
    sid: `CAL${call.callId}`,
    account_id: 25,
    name: 'Escondido    Ca',
    search: null,
    referrer: 'https://www.bing.com/',
    location: call.msclkid
      ? `https://example.com/landing?utm_source=bing&MSCLKID=${call.msclkid}`
      : 'https://example.com/landing?utm_source=direct',
    source: 'Bing Ads',
    duration: call.durationSec,
    talk_time: Math.max(0, call.durationSec - 5),
    ring_time: 5,
    // Account-local and ambiguous: the adapter must not read it.
    called_at: '2013-05-01 11:48 PM -04:00',
    unix_time: unix,
    tracking_number: '+17203584118',
    business_number: '+14109759000',
    dial_status: 'completed',
    caller_number_format: '(760) 705-8888',
    caller_number_complete: '+17607058888',
    caller_number: '+17607058888',
    tag_list: ['follow up'],
    ...(call.value ? { sale: { name: 'Sale', value: call.value } } : {}),
  };
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    query: {},
  };
}
