import { describe, expect, it } from 'vitest';
import { fixtureTimeZone, sampleDelivery } from './dialogtech.fixture.ts';
import { dialogtech } from './dialogtech.ts';
import { expectFixtureRoundTrip, parseOne, reasonFor } from './test-support.ts';

const chicago = { timeZone: 'America/Chicago' };

describe('dialogtech', () => {
  it('reads the template as a GET: start_time in the account zone, landing_page for the click ID', () => {
    const call = parseOne(
      dialogtech,
      {
        method: 'GET',
        query: {
          call_id: '88812345',
          start_time: '2024-11-03 01:30:00',
          call_duration: '00:03:05',
          caller: '(312) 555-0142',
          landing_page: 'https://ex.com/?gclid=x&msclkid=f894f652ea334e739002f7167ab8f8e3',
        },
      },
      chicago,
    );
    // 01:30 happens twice in Chicago on 2024-11-03 (clocks fall back): the earlier instant, CDT (-05:00).
    expect(call.startUtc).toEqual(new Date('2024-11-03T06:30:00Z'));
    expect(call.durationSec).toBe(185);
    expect(call.callerE164).toBeNull(); // not E.164 without a country: the caller is optional
    expect(call.msclkid).toBe('f894f652ea334e739002f7167ab8f8e3');
  });

  it('reads the same template POSTed as a form, as JSON and as XML', () => {
    const fields = {
      call_id: '1',
      start_time_utc: '2024-05-01T13:45:10Z',
      duration: '60',
      msclkid: 'abc',
      value: '10',
    };
    const expected = parseOne(dialogtech, { method: 'GET', query: fields });
    expect(expected.startUtc).toEqual(new Date('2024-05-01T13:45:10Z'));
    const form = parseOne(dialogtech, { body: new URLSearchParams(fields).toString() });
    const json = parseOne(dialogtech, { body: JSON.stringify(fields) });
    const xml = parseOne(dialogtech, {
      headers: { 'content-type': 'application/xml' },
      body: `<call>${Object.entries(fields)
        .map(([k, v]) => `<${k}>${v}</${k}>`)
        .join('')}</call>`,
    });
    expect([form, json, xml]).toEqual([expected, expected, expected]);
  });

  it('the source renames parameters (fields) and DialogTech API v3 names are read as second choices', () => {
    const call = parseOne(
      dialogtech,
      {
        method: 'GET',
        query: {
          CallUUID: 'u-1',
          start_time: '1714571110',
          ani: '+13125550142',
          landing_page: '/?MSCLKID=zz',
        },
      },
      { fields: { providerCallId: 'CallUUID' } },
    );
    expect(call).toMatchObject({ providerCallId: 'u-1', callerE164: '+13125550142', msclkid: 'zz' });
    expect(call.startUtc).toEqual(new Date('2024-05-01T13:45:10Z'));
  });

  it('a cancelled sale and an unanswered call', () => {
    const call = parseOne(dialogtech, {
      method: 'GET',
      query: { call_id: '1', start_time_utc: '1714571110000', cancelled: 'true', call_status: 'no answer' },
    });
    expect(call.cancelled).toBe(true);
    expect(call.answered).toBe(false);
  });

  it('refuses what it cannot read', () => {
    expect(reasonFor(dialogtech, { method: 'GET', query: { start_time: '2024-05-01 10:00:00' } })).toBe(
      'missing the call id: expected the parameter "call_id" (rename it with the source\'s fields.providerCallId)',
    );
    expect(
      reasonFor(
        dialogtech,
        { method: 'GET', query: { call_id: '1', start_time: '2024-03-10 02:30:00' } },
        chicago,
      ),
    ).toMatch(/2024-03-10 02:30:00 does not exist in America\/Chicago/);
    expect(reasonFor(dialogtech, { body: 'just some text' })).toMatch(/neither JSON, XML nor a form/);
    expect(
      reasonFor(dialogtech, { body: new Uint8Array([0x63, 0x3d, 0xff, 0xfe]) as unknown as string }),
    ).toBe('body is not UTF-8 text');
  });

  it('parses its fixture back to the call it was built from', () => {
    expectFixtureRoundTrip(dialogtech, sampleDelivery, { timeZone: fixtureTimeZone });
    // start_time (local) is read only when start_time_utc is absent: it agrees with it.
    const { start_time_utc: _, ...local } = sampleDelivery({
      callId: '3',
      msclkid: null,
      startUtc: new Date('2026-07-01T12:00:00Z'),
      durationSec: 1,
    }).query;
    expect(
      parseOne(dialogtech, { method: 'GET', query: local }, { timeZone: fixtureTimeZone }).startUtc,
    ).toEqual(new Date('2026-07-01T12:00:00Z'));
  });
});
