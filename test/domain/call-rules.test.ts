import { describe, expect, it } from 'vitest';
import {
  type CallFacts,
  decideCall,
  type Qualification,
  type SentCall,
} from '../../src/domain/call-rules.ts';

const call = (over: Partial<CallFacts> = {}): CallFacts => ({
  providerCallId: 'c1',
  startUtc: new Date('2026-05-01T13:45:10.750Z'),
  durationSec: 120,
  talkSec: 100,
  answered: true,
  value: null,
  currency: null,
  msclkid: 'f894f652ea334e739002f7167ab8f8e3',
  cancelled: false,
  ...over,
});
const q = (over: Partial<Qualification> = {}): Qualification => ({
  minDurationSec: null,
  minTalkSec: null,
  answeredOnly: false,
  valueMode: 'payload',
  fixedValue: null,
  currency: null,
  ...over,
});
const sent = (over: Partial<SentCall> = {}): SentCall => ({
  clickId: 'f894f652ea334e739002f7167ab8f8e3',
  conversionTime: new Date('2026-05-01T13:45:10Z'),
  value: '100.000',
  currency: 'USD',
  retracted: false,
  ...over,
});

describe('a first delivery', () => {
  it('qualifies: a conversion at the start time, to the second', () => {
    expect(decideCall(call({ value: '80', currency: 'EUR' }), q(), null)).toEqual({
      outcome: 'conversion',
      clickId: 'f894f652ea334e739002f7167ab8f8e3',
      conversionTime: new Date('2026-05-01T13:45:10Z'),
      value: '80',
      currency: 'EUR',
    });
  });

  it('value: fixed, from the payload with the source currency as fallback, or none (the goal’s)', () => {
    expect(
      decideCall(call({ value: '80' }), q({ valueMode: 'fixed', fixedValue: '25', currency: 'USD' }), null),
    ).toMatchObject({ value: '25', currency: 'USD' });
    expect(decideCall(call({ value: '80' }), q({ currency: 'GBP' }), null)).toMatchObject({
      value: '80',
      currency: 'GBP',
    });
    expect(decideCall(call(), q({ currency: 'GBP' }), null)).toMatchObject({ value: null, currency: null });
  });

  it('not qualifying, with the reason: no click ID, not answered, too short (talk, then duration)', () => {
    const reason = (c: Partial<CallFacts>, rules: Partial<Qualification> = {}) => {
      const d = decideCall(call(c), q(rules), null);
      return d.outcome === 'not_qualifying' ? d.reason : d.outcome;
    };
    expect(reason({ msclkid: null })).toContain('no click ID');
    expect(reason({ answered: false }, { answeredOnly: true })).toContain('not answered');
    expect(reason({ answered: null, talkSec: null }, { answeredOnly: true })).toContain('did not say');
    expect(reason({ answered: null, talkSec: 5 }, { answeredOnly: true })).toBe('conversion');
    expect(reason({ talkSec: 29 }, { minTalkSec: 30 })).toBe('talk time 29 s is below the minimum of 30 s');
    expect(reason({ talkSec: null, durationSec: 31 }, { minTalkSec: 30 })).toBe('conversion');
    expect(reason({ durationSec: 59 }, { minDurationSec: 60 })).toBe(
      'duration 59 s is below the minimum of 60 s',
    );
    expect(reason({ durationSec: 60 }, { minDurationSec: 60 })).toBe('conversion');
    expect(reason({ durationSec: null, talkSec: null }, { minDurationSec: 60 })).toContain(
      'no duration reported',
    );
    expect(reason({ cancelled: true })).toContain('no conversion was sent');
  });
});

describe('a call already converted', () => {
  it('the same value again (however written), or no value: a duplicate delivery', () => {
    expect(decideCall(call({ value: '100' }), q(), sent()).outcome).toBe('duplicate_delivery');
    expect(decideCall(call({ value: '100.00', currency: 'USD' }), q(), sent()).outcome).toBe(
      'duplicate_delivery',
    );
    expect(decideCall(call(), q(), sent()).outcome).toBe('duplicate_delivery');
    // Even when the redelivery itself would not qualify (e.g. CTM's start trigger after the end one).
    expect(
      decideCall(call({ durationSec: 0, msclkid: null }), q({ minDurationSec: 30 }), sent()).outcome,
    ).toBe('duplicate_delivery');
  });

  it('a new value or currency: a correction (Restate)', () => {
    expect(decideCall(call({ value: '150.5' }), q(), sent())).toEqual({
      outcome: 'correction',
      value: '150.5',
      currency: 'USD',
    });
    expect(decideCall(call({ value: '100', currency: 'EUR' }), q(), sent())).toEqual({
      outcome: 'correction',
      value: '100',
      currency: 'EUR',
    });
    expect(
      decideCall(
        call({ value: '150' }),
        q({ valueMode: 'fixed', fixedValue: '100', currency: 'USD' }),
        sent(),
      ).outcome,
    ).toBe('duplicate_delivery');
  });

  it('cancelled: a retraction; once retracted, nothing more', () => {
    expect(decideCall(call({ cancelled: true }), q(), sent())).toEqual({ outcome: 'retraction' });
    expect(decideCall(call({ cancelled: true }), q(), sent({ retracted: true })).outcome).toBe(
      'duplicate_delivery',
    );
    expect(decideCall(call({ value: '300' }), q(), sent({ retracted: true }))).toMatchObject({
      outcome: 'duplicate_delivery',
      reason: expect.stringContaining('retracted'),
    });
  });
});
