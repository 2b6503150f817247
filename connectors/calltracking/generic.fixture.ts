/** A call in the generic adapter's documented JSON shape (see generic.ts). */
export function sampleDelivery(call: {
  callId: string;
  msclkid: string | null;
  startUtc: Date;
  durationSec: number;
  value?: string;
}): { method: 'GET' | 'POST'; headers: Record<string, string>; body: string; query: Record<string, string> } {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      callId: call.callId,
      startTime: call.startUtc.toISOString(),
      durationSec: call.durationSec,
      talkSec: Math.max(0, call.durationSec - 4),
      answered: true,
      caller: '+14155550100',
      ...(call.value ? { value: call.value, currency: 'USD' } : {}),
      ...(call.msclkid ? { landingUrl: `https://example.com/offer?msclkid=${call.msclkid}` } : {}),
    }),
    query: {},
  };
}
