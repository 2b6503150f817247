import { describe, expect, it } from 'vitest';
import { fixtureTimeZone, sampleDelivery } from './avanser.fixture.ts';
import { avanser } from './avanser.ts';
import { expectFixtureRoundTrip, parseOne, reasonFor } from './test-support.ts';

const sydney = { timeZone: 'Australia/Sydney' };

describe('avanser', () => {
  it("reads the reference's recommended JSON mapping with [[uniqueid]] as id, start in the account zone", () => {
    // {"id":"[[uniqueid]]","start":"[[?]]","caller":"[[?]]","duration":"[[?]]","landing":"[[?]]"}, filled in.
    const body = JSON.stringify({
      id: '1714571110.12345',
      start: '2024-05-01 23:45:10',
      caller: '+61 412 345 678',
      duration: '185',
      landing: 'https://ex.com.au/?msclkid=f894f652ea334e739002f7167ab8f8e3',
    });
    expect(parseOne(avanser, { headers: { 'content-type': 'application/json' }, body }, sydney)).toEqual({
      providerCallId: '1714571110.12345',
      correctionId: undefined,
      startUtc: new Date('2024-05-01T13:45:10Z'),
      durationSec: 185,
      talkSec: null,
      answered: null,
      callerE164: '+61412345678',
      value: null,
      currency: null,
      msclkid: 'f894f652ea334e739002f7167ab8f8e3',
      landingUrl: 'https://ex.com.au/?msclkid=f894f652ea334e739002f7167ab8f8e3',
      cancelled: false,
    });
  });

  it('Realtime mode: each status change re-posts the same id (the receiver upserts on it)', () => {
    const post = (status: string, duration: string) =>
      parseOne(
        avanser,
        {
          body: new URLSearchParams({ id: 'U1', start: '2024-05-01 23:45:10', status, duration }).toString(),
        },
        sydney,
      );
    const ringing = post('RINGING', '0');
    const answered = post('ANSWERED', '185');
    expect([ringing.providerCallId, answered.providerCallId]).toEqual(['U1', 'U1']);
    expect([ringing.answered, answered.answered]).toEqual([null, true]);
    expect(answered.durationSec).toBe(185);
  });

  it('GET with the template in the query; a start with an explicit offset ignores the source zone', () => {
    const call = parseOne(
      avanser,
      { method: 'GET', query: { uniqueid: 'U2', start: '2024-05-01T23:45:10+10:00', status: 'MISSED' } },
      { timeZone: 'Europe/London' },
    );
    expect(call.startUtc).toEqual(new Date('2024-05-01T13:45:10Z'));
    expect(call.answered).toBe(false);
    expect(call.msclkid).toBeNull();
  });

  it('refuses malformed XML and bad values', () => {
    const xml = { 'content-type': 'application/xml' };
    expect(reasonFor(avanser, { headers: xml, body: '<call><id>U1</id><start>x</start>' })).toMatch(
      /^malformed XML body/,
    );
    expect(reasonFor(avanser, { headers: xml, body: '<a>1</a><b>2</b>' })).toMatch(/^malformed XML body/);
    expect(
      reasonFor(avanser, {
        headers: xml,
        body: '<call><id>U1</id><start>2024-05-01 10:00:00</start><duration>-4</duration></call>',
      }),
    ).toBe('field "duration": expected seconds (e.g. 185 or 00:03:05), got "-4"');
    expect(reasonFor(avanser, { body: 'id=U1&start=2024-05-01+10:00:00&value=%2412.50' })).toBe(
      'field "value": expected a number such as 12.50, got "$12.50"',
    );
    expect(reasonFor(avanser, { body: 'id=U1&start=2024-05-01+10:00:00' }, { timeZone: 'AEST' })).toMatch(
      /time zone "AEST" is not an IANA zone name/,
    );
  });

  it('parses its fixture (XML POST) back to the call it was built from', () => {
    expectFixtureRoundTrip(avanser, sampleDelivery, { timeZone: fixtureTimeZone });
  });
});
