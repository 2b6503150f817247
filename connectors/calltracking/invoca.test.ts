import { describe, expect, it } from 'vitest';
import { sampleDelivery } from './invoca.fixture.ts';
import { invoca } from './invoca.ts';
import { expectFixtureRoundTrip, parseOne, reasonFor } from './test-support.ts';

// The reference's JSON-Post template example (calltracking-payloads.md §2), verbatim but for the landing URL,
// which the reference shortens with "…".
const example =
  '{"transaction_id":"FE7F3A51-11111111","corrects_transaction_id":"","start_time_utc":"1548337395000",' +
  '"calling_phone_number":"866-555-1234","duration":"184","connect_duration":"160","revenue":"0",' +
  '"msclkid":"f894f652ea334e739002f7167ab8f8e3","landing_page":"https://ex.com/?msclkid=f894f652ea334e739002f7167ab8f8e3"}';
const json = { 'content-type': 'application/json' };

describe('invoca', () => {
  it('reads the JSON Post template: start_time_utc in milliseconds, connect_duration as talk time, NANP caller', () => {
    const call = parseOne(invoca, { headers: json, body: example });
    expect(call).toEqual({
      providerCallId: 'FE7F3A51-11111111',
      correctionId: undefined,
      startUtc: new Date('2019-01-24T13:43:15Z'),
      durationSec: 184,
      talkSec: 160,
      answered: null,
      callerE164: '+18665551234',
      value: '0',
      currency: null,
      msclkid: 'f894f652ea334e739002f7167ab8f8e3',
      landingUrl: 'https://ex.com/?msclkid=f894f652ea334e739002f7167ab8f8e3',
      cancelled: false,
    });
  });

  it('a correction keys on the transaction it corrects and carries the new id', () => {
    const body = JSON.stringify({
      ...JSON.parse(example),
      transaction_id: 'FE7F3A51-22222222',
      corrects_transaction_id: 'FE7F3A51-11111111',
      corrected_at: '1548340000',
      revenue: '250.00',
    });
    const call = parseOne(invoca, { headers: json, body });
    expect(call.providerCallId).toBe('FE7F3A51-11111111');
    expect(call.correctionId).toBe('FE7F3A51-22222222');
    expect(call.value).toBe('250.00');
  });

  it('reads the Form Post, HTTP GET and XML Post formats alike', () => {
    const fields = JSON.parse(example) as Record<string, string>;
    const form = parseOne(invoca, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
    const get = parseOne(invoca, { method: 'GET', query: fields });
    const xml = parseOne(invoca, {
      headers: { 'content-type': 'text/xml' },
      body: `<?xml version="1.0"?><call>${Object.entries(fields)
        .map(([name, value]) => `<${name}>${value.replace(/&/g, '&amp;')}</${name}>`)
        .join('')}</call>`,
    });
    const fromJson = parseOne(invoca, { headers: json, body: example });
    expect(form).toEqual(fromJson);
    expect(get).toEqual(fromJson);
    expect(xml).toEqual(fromJson);
  });

  it('takes the click ID from the landing page (MSCLKID in any case) when the msclkid parameter is empty', () => {
    const body = JSON.stringify({
      ...JSON.parse(example),
      msclkid: '',
      landing_page: 'https://ex.com/plumbing?utm_source=bing&MSCLKID=0123456789abcdef0123456789abcdef',
    });
    expect(parseOne(invoca, { headers: json, body }).msclkid).toBe('0123456789abcdef0123456789abcdef');
  });

  it('a call without a click ID is still a call', () => {
    const body = JSON.stringify({ ...JSON.parse(example), msclkid: '', landing_page: 'https://ex.com/' });
    const call = parseOne(invoca, { headers: json, body });
    expect(call.msclkid).toBeNull();
    expect(call.providerCallId).toBe('FE7F3A51-11111111');
  });

  it('falls back to start_time_local with its offset', () => {
    const body = JSON.stringify({
      ...JSON.parse(example),
      start_time_utc: '',
      start_time_local: '2019-01-24 08:43:15 -05:00',
    });
    expect(parseOne(invoca, { headers: json, body }).startUtc).toEqual(new Date('2019-01-24T13:43:15Z'));
  });

  it('refuses malformed bodies and bad fields, naming what and where', () => {
    expect(reasonFor(invoca, { headers: json, body: '{"transaction_id": "x",' })).toMatch(
      /^malformed JSON body/,
    );
    expect(
      reasonFor(invoca, { headers: { 'content-type': 'text/xml' }, body: '<call><id>1</call>' }),
    ).toMatch(/^malformed XML body at line 1/);
    const noId = JSON.stringify({ ...JSON.parse(example), transaction_id: '' });
    expect(reasonFor(invoca, { headers: json, body: noId })).toMatch(
      /missing the call id: expected the parameter "transaction_id"/,
    );
    const badDuration = JSON.stringify({ ...JSON.parse(example), duration: '3 min' });
    expect(reasonFor(invoca, { headers: json, body: badDuration })).toBe(
      'field "duration": expected seconds (e.g. 185 or 00:03:05), got "3 min"',
    );
    const comma = JSON.stringify({ ...JSON.parse(example), revenue: '12,50' });
    expect(reasonFor(invoca, { headers: json, body: comma })).toMatch(/"revenue": "12,50" uses a comma/);
    const noTime = JSON.stringify({ ...JSON.parse(example), start_time_utc: '' });
    expect(reasonFor(invoca, { headers: json, body: noTime })).toMatch(
      /missing the start time: expected "start_time_utc" or "start_time_local"/,
    );
  });

  it('parses its fixture back to the call it was built from', () => {
    expectFixtureRoundTrip(invoca, sampleDelivery);
  });
});
