import { describe, expect, it } from 'vitest';
import { sampleDelivery } from './infinity.fixture.ts';
import { infinity } from './infinity.ts';
import { expectFixtureRoundTrip, parseOne, reasonFor } from './test-support.ts';

/** The query of a Call Out URL request whose Param Mappings send each Infinity field under its own name. */
const query = {
  igrp: '1234',
  callRef: 'ABC123',
  dt: '2024-05-01 13:45:10',
  srcPhoneNumber: '+447700900123',
  callDuration: '185',
  bridgeDuration: '160',
  landingPageUrl: 'https://ex.co.uk/?msclkid=f894f652ea334e739002f7167ab8f8e3',
};

describe('infinity', () => {
  it('reads a Call Out URL GET: dt is UTC, bridgeDuration is talk time, msclkid from the landing page', () => {
    expect(parseOne(infinity, { method: 'GET', query })).toEqual({
      providerCallId: 'ABC123',
      correctionId: undefined,
      startUtc: new Date('2024-05-01T13:45:10Z'),
      durationSec: 185,
      talkSec: 160,
      answered: true,
      callerE164: '+447700900123',
      value: null,
      currency: null,
      msclkid: 'f894f652ea334e739002f7167ab8f8e3',
      landingUrl: 'https://ex.co.uk/?msclkid=f894f652ea334e739002f7167ab8f8e3',
      cancelled: false,
    });
  });

  it("the reference's reconstructed URL, with user-chosen parameter names mapped through the source's fields", () => {
    // GET https://svc/hooks/infinity/<tenantToken>?call_ref=ABC123&dt=2024-05-01+13:45:10&caller=%2B447700900123&dur=185&bridge=160&landing=…
    const url = new URL(
      'https://svc/hooks/infinity/token?call_ref=ABC123&dt=2024-05-01+13:45:10&caller=%2B447700900123&dur=185&bridge=160&landing=https%3A%2F%2Fex.co.uk%2F%3Fmsclkid%3Df894f652ea334e739002f7167ab8f8e3',
    );
    const fields = {
      providerCallId: 'call_ref',
      callerE164: 'caller',
      durationSec: 'dur',
      talkSec: 'bridge',
      landingUrl: 'landing',
    };
    const call = parseOne(
      infinity,
      { method: 'GET', query: Object.fromEntries(url.searchParams) },
      { fields },
    );
    expect(call.providerCallId).toBe('ABC123');
    expect(call.startUtc).toEqual(new Date('2024-05-01T13:45:10Z'));
    expect(call.callerE164).toBe('+447700900123');
    expect([call.durationSec, call.talkSec]).toEqual([185, 160]);
    expect(call.msclkid).toBe('f894f652ea334e739002f7167ab8f8e3');
  });

  it('telcoCallRef, a pass-through pt_msclkid, txv/txc, a call never bridged, anonymous caller', () => {
    const call = parseOne(infinity, {
      method: 'GET',
      query: {
        telcoCallRef: 'T-77',
        dt: '2024-05-01 13:45:10',
        srcPhoneNumber: 'anonymous',
        callDuration: '20',
        bridgeDuration: '0',
        pt_msclkid: '0123456789abcdef0123456789abcdef',
        txv: '99.5',
        txc: 'gbp',
      },
    });
    expect(call).toMatchObject({
      providerCallId: 'T-77',
      answered: false,
      callerE164: null,
      msclkid: '0123456789abcdef0123456789abcdef',
      value: '99.5',
      currency: 'GBP',
    });
  });

  it('a source whose Infinity reports use tz reads dt in that zone', () => {
    const call = parseOne(infinity, { method: 'GET', query }, { timeZone: 'Europe/London' });
    expect(call.startUtc).toEqual(new Date('2024-05-01T12:45:10Z'));
  });

  it('a call without a click ID is a call', () => {
    const call = parseOne(infinity, {
      method: 'GET',
      query: { ...query, landingPageUrl: 'https://ex.co.uk/' },
    });
    expect(call.msclkid).toBeNull();
  });

  it('refuses requests it cannot read, naming the parameter', () => {
    expect(reasonFor(infinity, { method: 'GET', query: {} })).toBe(
      'empty request: no query parameters and no body',
    );
    expect(reasonFor(infinity, { method: 'GET', query: { ...query, callRef: '' } })).toMatch(
      /missing the call id: expected the parameter "callRef" or "telcoCallRef"/,
    );
    expect(reasonFor(infinity, { method: 'GET', query: { ...query, dt: '01/05/2024 13:45' } })).toMatch(
      /field "dt": expected/,
    );
    expect(reasonFor(infinity, { method: 'GET', query: { ...query, dt: '2024-02-30 10:00:00' } })).toMatch(
      /field "dt": "2024-02-30 10:00:00" is not a valid date and time/,
    );
    expect(reasonFor(infinity, { method: 'GET', query: { ...query, txc: 'pounds' } })).toMatch(
      /field "txc": expected a three-letter currency code/,
    );
  });

  it('parses its fixture back to the call it was built from', () => {
    expectFixtureRoundTrip(infinity, sampleDelivery);
  });
});
