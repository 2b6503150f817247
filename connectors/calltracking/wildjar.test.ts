import { describe, expect, it } from 'vitest';
import { expectFixtureRoundTrip, parseOne, reasonFor } from './test-support.ts';
import { sampleDelivery } from './wildjar.fixture.ts';
import { wildjar } from './wildjar.ts';

// The reference's example (calltracking-payloads.md §7, data_format json), verbatim but for the "f894…"
// abbreviations, which are written out.
const flat =
  '{"id":"123456","status":"answered","caller":"+61400000000","timestamp":1714571110000,' +
  '"duration":185,"talk_time":160,"msclkid":"f894f652ea334e739002f7167ab8f8e3",' +
  '"landing":"https://ex.com.au/?msclkid=f894f652ea334e739002f7167ab8f8e3"}';
const json = { 'content-type': 'application/json' };

describe('wildjar', () => {
  it('reads a flat data template: timestamp in milliseconds, status answered', () => {
    expect(parseOne(wildjar, { headers: json, body: flat })).toEqual({
      providerCallId: '123456',
      correctionId: undefined,
      startUtc: new Date('2024-05-01T13:45:10Z'),
      durationSec: 185,
      talkSec: 160,
      answered: true,
      callerE164: '+61400000000',
      value: null,
      currency: null,
      msclkid: 'f894f652ea334e739002f7167ab8f8e3',
      landingUrl: 'https://ex.com.au/?msclkid=f894f652ea334e739002f7167ab8f8e3',
      cancelled: false,
    });
  });

  it('reads the DetailedCall shape: web.msclkid, web.landing; a missed call has talk_time null', () => {
    const body = JSON.stringify({
      id: 98765,
      status: 'missed',
      caller: 'anonymous',
      duration: 31,
      talk_time: null,
      timestamp: 1714571110000,
      web: { landing: 'https://ex.com.au/quote?MsClkId=0123456789abcdef0123456789abcdef', msclkid: null },
    });
    const call = parseOne(wildjar, { headers: json, body });
    expect(call.providerCallId).toBe('98765');
    expect(call.answered).toBe(false);
    expect(call.callerE164).toBeNull();
    expect(call.talkSec).toBeNull();
    expect(call.msclkid).toBe('0123456789abcdef0123456789abcdef');
  });

  it("without timestamp: date_start_gmt is UTC; date_start_local is in the account's local_timezone", () => {
    const gmt = JSON.stringify({ id: '1', date_start_gmt: '2024-05-01 13:45:10' });
    expect(parseOne(wildjar, { headers: json, body: gmt }).startUtc).toEqual(
      new Date('2024-05-01T13:45:10Z'),
    );
    const local = JSON.stringify({
      id: '1',
      date_start_local: '2024-05-01 23:45:10',
      local_timezone: 'Australia/Sydney',
    });
    expect(parseOne(wildjar, { headers: json, body: local }).startUtc).toEqual(
      new Date('2024-05-01T13:45:10Z'),
    );
    // Without local_timezone the source's time zone applies.
    const sourceZone = JSON.stringify({ id: '1', date_start_local: '2024-05-01 21:45:10' });
    expect(
      parseOne(wildjar, { headers: json, body: sourceZone }, { timeZone: 'Australia/Perth' }).startUtc,
    ).toEqual(new Date('2024-05-01T13:45:10Z'));
  });

  it('a call without a click ID is a call with msclkid null', () => {
    const body = JSON.stringify({
      id: '7',
      timestamp: 1714571110000,
      web: { landing: 'https://ex.com.au/' },
    });
    expect(parseOne(wildjar, { headers: json, body }).msclkid).toBeNull();
  });

  it('refuses malformed bodies and bad fields', () => {
    expect(reasonFor(wildjar, { headers: json, body: '{"id": 1' })).toMatch(/^malformed JSON body/);
    expect(reasonFor(wildjar, { headers: json, body: '[{"id":1}]' })).toMatch(/JSON body must be an object/);
    expect(reasonFor(wildjar, { headers: json, body: '{"id":"1","timestamp":"yesterday"}' })).toMatch(
      /field "timestamp": expected epoch seconds or milliseconds/,
    );
    expect(
      reasonFor(wildjar, {
        headers: json,
        body: '{"id":"1","timestamp":1714571110000,"web":{"landing":["a","b"]}}',
      }),
    ).toBe('field "web.landing": expected one value, got a list');
    expect(
      reasonFor(wildjar, {
        headers: json,
        body: '{"id":"1","date_start_local":"2024-05-01 23:45:10","local_timezone":"Sydney"}',
      }),
    ).toMatch(/time zone "Sydney" is not an IANA zone name/);
  });

  it('parses its fixture back to the call it was built from', () => {
    expectFixtureRoundTrip(wildjar, sampleDelivery);
  });
});
