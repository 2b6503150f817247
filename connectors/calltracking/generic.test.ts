import { describe, expect, it } from 'vitest';
import { generic } from './generic.ts';
import type { ProviderRequest } from './types.ts';

const post = (body: unknown): ProviderRequest => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body)),
  query: {},
});

describe('generic adapter', () => {
  it('reads the documented JSON shape', () => {
    const result = generic.parse(
      post({
        callId: 'c-1001',
        startTime: '2026-05-01T15:45:10+02:00',
        durationSec: 185,
        talkSec: '160',
        answered: true,
        caller: '+14155550100',
        value: '120.00',
        currency: 'usd',
        landingUrl: 'https://example.com/?MSCLKID=f894f652ea334e739002f7167ab8f8e3',
        cancelled: false,
      }),
      {},
    );
    expect(result).toEqual({
      ok: true,
      calls: [
        {
          providerCallId: 'c-1001',
          startUtc: new Date('2026-05-01T13:45:10Z'),
          durationSec: 185,
          talkSec: 160,
          answered: true,
          callerE164: '+14155550100',
          value: '120.00',
          currency: 'USD',
          msclkid: 'f894f652ea334e739002f7167ab8f8e3',
          landingUrl: 'https://example.com/?MSCLKID=f894f652ea334e739002f7167ab8f8e3',
          cancelled: false,
        },
      ],
    });
  });

  it('start times: epoch seconds and milliseconds by magnitude, local times in the source zone', () => {
    const start = (startTime: unknown, timeZone?: string) => {
      const r = generic.parse(post({ callId: 'x', startTime }), timeZone ? { timeZone } : {});
      return r.ok ? r.calls[0]!.startUtc.toISOString() : r.reason;
    };
    expect(start(1714571110)).toBe('2024-05-01T13:45:10.000Z');
    expect(start('1714571110000')).toBe('2024-05-01T13:45:10.000Z');
    expect(start(1714571110999)).toBe('2024-05-01T13:45:10.000Z');
    expect(start('2024-05-01 13:45:10')).toBe('2024-05-01T13:45:10.000Z');
    expect(start('2024-05-01 13:45:10', 'America/New_York')).toBe('2024-05-01T17:45:10.000Z');
    expect(start('2024-05-01T13:45:10Z', 'America/New_York')).toBe('2024-05-01T13:45:10.000Z');
    expect(start('yesterday')).toContain('is not a time');
  });

  it('field overrides point names at other keys, nested with dots; GET reads the query', () => {
    const r = generic.parse(post({ call: { uuid: 'u-7', at: 1714571110 }, web: { msclkid: 'abc' } }), {
      fields: { providerCallId: 'call.uuid', startUtc: 'call.at', msclkid: 'web.msclkid' },
    });
    expect(r.ok && r.calls[0]).toMatchObject({ providerCallId: 'u-7', msclkid: 'abc' });
    const q = generic.parse(
      {
        method: 'GET',
        headers: {},
        body: new Uint8Array(),
        query: { callId: 'g-1', startTime: '1714571110', msclkid: 'm' },
      },
      {},
    );
    expect(q.ok && q.calls[0]).toMatchObject({ providerCallId: 'g-1', msclkid: 'm' });
  });

  it('refuses what it cannot read, with the reason', () => {
    expect(generic.parse(post('{"callId":'), {})).toMatchObject({
      ok: false,
      reason: expect.stringContaining('not valid JSON'),
    });
    expect(generic.parse(post({ startTime: 1714571110 }), {})).toMatchObject({
      ok: false,
      reason: expect.stringContaining('"callId"'),
    });
    expect(generic.parse(post({ callId: 'a' }), {})).toMatchObject({
      ok: false,
      reason: expect.stringContaining('"startTime"'),
    });
    expect(generic.parse(post({ callId: 'a', startTime: 1714571110, cancelled: 'yes' }), {})).toMatchObject({
      ok: true,
      calls: [{ cancelled: true }],
    });
  });
});
