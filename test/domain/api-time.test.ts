import { describe, expect, it } from 'vitest';
import { parseApiTime } from '../../src/domain/time.ts';
import { formatUtc } from '../../src/domain/utc.ts';
import { expectFail, expectOk } from './expect-result.ts';

describe('parseApiTime', () => {
  it.each([
    ['2026-01-02T03:04:05Z', '2026-01-02T03:04:05Z'],
    ['2026-01-02T03:04:05z', '2026-01-02T03:04:05Z'],
    ['2026-01-02T03:04:05.123+01:00', '2026-01-02T02:04:05Z'],
    ['2026-01-02T03:04:05.999999Z', '2026-01-02T03:04:05Z'],
    ['2026-01-02T03:04:05-0530', '2026-01-02T08:34:05Z'],
    ['2026-01-02T03:04:05+05', '2026-01-01T22:04:05Z'],
    ['2026-01-02T03:04:05+00:00', '2026-01-02T03:04:05Z'],
    [' 2026-01-02T03:04:05Z ', '2026-01-02T03:04:05Z'],
    ['2024-02-29T23:59:59-12:00', '2024-03-01T11:59:59Z'],
  ])('reads %j', (text, expected) => {
    const d = expectOk(parseApiTime(text));
    expect(formatUtc(d)).toBe(expected);
    expect(d.getUTCMilliseconds()).toBe(0);
  });

  it.each(['2026-01-02T03:04:05', '2026-01-02T03:04:05.123'])('requires an offset or Z in %j', (text) => {
    const message = expectFail(parseApiTime(text), 'INVALID_TIME_FORMAT');
    expect(message).toContain('no UTC offset');
    expect(message).toContain(`${text}Z`);
    expect(message).toContain(`${text}+01:00`);
  });

  it.each(['2026-01-02 03:04:05Z', '01/02/2026 03:04:05', '2026-01-02T03:04Z', '1767323045', 'soon'])(
    'refuses %j, which is not ISO 8601 with seconds',
    (text) => {
      const message = expectFail(parseApiTime(text), 'INVALID_TIME_FORMAT');
      expect(message).toContain(`"${text}"`);
      expect(message).toContain('2026-01-02T03:04:05Z');
    },
  );

  it('refuses dates and clock times that do not exist', () => {
    expect(expectFail(parseApiTime('2026-02-29T00:00:00Z'), 'INVALID_DATE')).toContain(
      'February 2026 has 28 days',
    );
    expect(expectFail(parseApiTime('2026-01-02T24:00:00Z'), 'INVALID_DATE')).toContain('24:00:00');
    expect(expectFail(parseApiTime('2026-13-02T00:00:00Z'), 'INVALID_DATE')).toContain('the month 13');
  });

  it('refuses offsets no zone uses', () => {
    expect(expectFail(parseApiTime('2026-01-02T03:04:05+15:00'), 'INVALID_TIME_ZONE')).toContain(
      '-12:00 to +14:00',
    );
    expect(expectFail(parseApiTime('2026-01-02T03:04:05+01:60'), 'INVALID_TIME_ZONE')).toContain(
      'not a real UTC offset',
    );
  });

  it('calls an empty time missing', () => {
    expect(expectFail(parseApiTime(' '), 'MISSING_CONVERSION_TIME')).toContain('2026-01-02T03:04:05Z');
  });
});

describe('formatUtc', () => {
  it('writes YYYY-MM-DDTHH:mm:ssZ in UTC, dropping milliseconds', () => {
    expect(formatUtc(new Date(Date.UTC(2017, 5, 1, 13, 0, 0, 999)))).toBe('2017-06-01T13:00:00Z');
    expect(formatUtc(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)))).toBe('2026-01-02T03:04:05Z');
  });
});
