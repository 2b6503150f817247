import { describe, expect, it } from 'vitest';
import { calltrackingmetrics, signCtm, verifyCtmSignature } from './calltrackingmetrics.ts';
import type { ProviderRequest } from './types.ts';

const enc = new TextEncoder();

// The reference's test vector (calltracking-payloads.md §1), computed with Python, openssl and Node.
const vector = {
  secret: 'ctm_test_secret_key',
  time: '1700000000',
  body: '{"id":729485,"account_id":25,"caller_number":"+17607058888","duration":25,"talk_time":10,"unix_time":1367466480,"location":"https://example.com/?msclkid=abc123"}',
  signature: 'k3jcKJFWZiXn47YlrLx0gPwxSAI=',
};
const at = new Date(1_700_000_000_000);

function request(body: string, headers: Record<string, string> = {}): ProviderRequest {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: enc.encode(body),
    query: {},
  };
}

describe('CallTrackingMetrics signature', () => {
  it('accepts the reference test vector, byte for byte', () => {
    expect(enc.encode(vector.body).byteLength).toBe(161);
    expect(signCtm(vector.secret, vector.time, vector.body)).toBe(vector.signature);
    const check = verifyCtmSignature({ ...vector, body: enc.encode(vector.body), now: at });
    expect(check).toEqual({ ok: true });
  });

  it('accepts the signature with the newline Ruby’s encode64 appends, and a time with spaces', () => {
    expect(
      verifyCtmSignature({
        ...vector,
        signature: `${vector.signature}\n`,
        time: ` ${vector.time} `,
        body: enc.encode(vector.body),
        now: at,
      }),
    ).toEqual({ ok: true });
  });

  it('refuses a wrong secret, a changed body, a changed time, a missing header', () => {
    const body = enc.encode(vector.body);
    expect(verifyCtmSignature({ ...vector, secret: 'other', body, now: at }).ok).toBe(false);
    expect(
      verifyCtmSignature({ ...vector, body: enc.encode(vector.body.replace('25', '26')), now: at }).ok,
    ).toBe(false);
    expect(
      verifyCtmSignature({ ...vector, time: '1700000001', body, now: new Date(1_700_000_001_000) }).ok,
    ).toBe(false);
    expect(verifyCtmSignature({ ...vector, signature: undefined, body, now: at })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('X-CTM-Signature'),
    });
    expect(verifyCtmSignature({ ...vector, time: undefined, body, now: at })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('X-CTM-Time'),
    });
    expect(verifyCtmSignature({ ...vector, signature: 'short', body, now: at }).ok).toBe(false);
  });

  it('holds the ±5 minute window on X-CTM-Time (a replay of an old delivery fails)', () => {
    const body = enc.encode(vector.body);
    expect(verifyCtmSignature({ ...vector, body, now: new Date(at.getTime() + 300_000) }).ok).toBe(true);
    expect(verifyCtmSignature({ ...vector, body, now: new Date(at.getTime() - 300_000) }).ok).toBe(true);
    const late = verifyCtmSignature({ ...vector, body, now: new Date(at.getTime() + 300_001) });
    expect(late).toMatchObject({ ok: false, reason: expect.stringContaining('5 minutes') });
    expect(verifyCtmSignature({ ...vector, body, now: new Date(at.getTime() - 301_000) }).ok).toBe(false);
    expect(verifyCtmSignature({ ...vector, time: '2023-11-14T22:13:20Z', body, now: at })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('epoch seconds'),
    });
  });
});

describe('CallTrackingMetrics payload', () => {
  it('reads the test vector’s call: unix_time in seconds, msclkid from location', () => {
    const result = calltrackingmetrics.parse(request(vector.body), {});
    expect(result).toEqual({
      ok: true,
      calls: [
        {
          providerCallId: '729485',
          startUtc: new Date('2013-05-02T03:48:00Z'),
          durationSec: 25,
          talkSec: 10,
          answered: null,
          callerE164: '+17607058888',
          value: null,
          currency: null,
          msclkid: 'abc123',
          landingUrl: 'https://example.com/?msclkid=abc123',
          cancelled: false,
        },
      ],
    });
  });

  it('never reads called_at (account-local): without unix_time the call is refused with the reason', () => {
    const body = JSON.stringify({ id: 729485, called_at: '2013-05-01 11:48 PM -04:00', duration: 25 });
    const result = calltrackingmetrics.parse(request(body), {});
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining('unix_time') });
  });

  it('finds MSCLKID in any case, the caller, the dial status and a sale value', () => {
    const body = JSON.stringify({
      id: 1,
      unix_time: 1714571110,
      called_at: '2024-05-01 09:45 AM',
      duration: 185,
      talk_time: 160,
      dial_status: 'no-answer',
      caller_number: '+17607058888',
      location: 'https://ex.com/p?utm_source=bing&MsClkId=f894f652ea334e739002f7167ab8f8e3#top',
      sale: { name: 'Sale', value: '249.90' },
    });
    const result = calltrackingmetrics.parse(request(body), {});
    expect(result.ok && result.calls[0]).toMatchObject({
      startUtc: new Date(1714571110 * 1000),
      msclkid: 'f894f652ea334e739002f7167ab8f8e3',
      answered: false,
      value: '249.90',
    });
  });

  it('a landing URL without the click ID, or no location at all, gives no msclkid', () => {
    for (const location of ['https://ex.com/?utm_source=bing', 'not a url', null]) {
      const result = calltrackingmetrics.parse(
        request(JSON.stringify({ id: 2, unix_time: 1714571110, location })),
        {},
      );
      expect(result.ok && result.calls[0]!.msclkid).toBeNull();
    }
  });

  it('malformed bodies are refused with the reason', () => {
    expect(calltrackingmetrics.parse(request('{"id":'), {})).toMatchObject({
      ok: false,
      reason: expect.stringContaining('not valid JSON'),
    });
    expect(calltrackingmetrics.parse(request('[1,2]'), {})).toMatchObject({
      ok: false,
      reason: expect.stringContaining('not an object'),
    });
    expect(calltrackingmetrics.parse(request('{"unix_time":1}'), {})).toMatchObject({
      ok: false,
      reason: expect.stringContaining('"id"'),
    });
    expect(calltrackingmetrics.parse({ ...request(''), body: new Uint8Array([0xff, 0xfe]) }, {}).ok).toBe(
      false,
    );
  });
});
