/** An Invoca post-call webhook in its JSON Post format, with the template docs/call-tracking-providers.md gives. */
import { landingUrlFor } from './parse.ts';

/** The source's time zone for this fixture: none needed (start_time_utc is epoch milliseconds). */
export const fixtureTimeZone = 'UTC';

export function sampleDelivery(call: {
  callId: string;
  msclkid: string | null;
  startUtc: Date;
  durationSec: number;
  value?: string;
}): { method: 'GET' | 'POST'; headers: Record<string, string>; body: string; query: Record<string, string> } {
  // Invoca fills every substitution parameter as a string, empty when it has no value.
  const body = {
    transaction_id: call.callId,
    corrects_transaction_id: '',
    transaction_type: 'Call',
    start_time_utc: String(call.startUtc.getTime()),
    calling_phone_number: '866-555-1234',
    duration: String(call.durationSec),
    connect_duration: String(Math.max(0, call.durationSec - 12)),
    revenue: call.value ?? '',
    msclkid: call.msclkid ?? '',
    landing_page: landingUrlFor('https://www.example.com', call.msclkid),
  };
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    query: {},
  };
}
