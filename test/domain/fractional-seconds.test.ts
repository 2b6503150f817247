import { describe, expect, it } from 'vitest';
import { parseApiTime, parseConversionTime } from '../../src/domain/time.ts';
import { parseTimeZoneSpec } from '../../src/domain/timezones.ts';
import { formatUtc } from '../../src/domain/utc.ts';
import { expectOk } from './expect-result.ts';

/**
 * Microsoft's formats have whole seconds, and a conversion is identified to the second: a fraction is
 * dropped (never rounded), and the row says so in its notes. A zero fraction changes nothing.
 */
describe('fractional seconds', () => {
  it.each([
    ['2026-06-01 13:00:00.5', '2026-06-01T13:00:00Z', '.5'],
    ['2026-06-01T13:00:00,25', '2026-06-01T13:00:00Z', '.25'],
    ['06/01/2026 1:00:00.75 PM', '2026-06-01T13:00:00Z', '.75'],
    ['2026-06-01 13:00:00.5+0200', '2026-06-01T11:00:00Z', '.5'],
    // Dropped, not rounded: rounding would move this conversion into the next day.
    ['2026-06-01 23:59:59.999', '2026-06-01T23:59:59Z', '.999'],
  ])('%j is taken as %s with a note that %s was dropped', (text, utc, fraction) => {
    const result = parseConversionTime(text, undefined);
    expect(formatUtc(expectOk(result))).toBe(utc);
    expect(result.ok && result.notes).toEqual([
      expect.stringMatching(
        new RegExp(
          `^"${text.slice(0, 20)}.*has a fraction of a second \\(\\${fraction}\\), which was dropped`,
        ),
      ),
    ]);
  });

  it('keeps the note with a named zone, next to its own notes', () => {
    const eastern = expectOk(parseTimeZoneSpec('EasternTimeUSCanada'));
    // 01:30 on 1 Nov 2026 happened twice in New York: the overlap note and the fraction note.
    const result = parseConversionTime('2026-11-01 01:30:00.5', eastern);
    expect(formatUtc(expectOk(result))).toBe('2026-11-01T05:30:00Z');
    expect(result.ok && result.notes?.map((n) => n.slice(0, 40))).toEqual([
      expect.stringContaining('is ambiguous'),
      expect.stringContaining('has a fraction'),
    ]);
  });

  it.each(['2026-06-01 13:00:00.000', '2026-06-01T13:00:00.0', '2026-06-01 13:00:00'])(
    '%j: nothing dropped, no note',
    (text) => {
      const result = parseConversionTime(text, undefined);
      expect(formatUtc(expectOk(result))).toBe('2026-06-01T13:00:00Z');
      expect(result.ok && result.notes).toBeUndefined();
    },
  );

  it('the JSON API: .123Z is noted, .000Z (what toISOString writes) is not', () => {
    const milliseconds = parseApiTime('2026-06-01T13:00:00.123Z');
    expect(formatUtc(expectOk(milliseconds))).toBe('2026-06-01T13:00:00Z');
    expect(milliseconds.ok && milliseconds.notes).toEqual([
      expect.stringContaining('(.123), which was dropped'),
    ]);
    const whole = parseApiTime(new Date(Date.UTC(2026, 5, 1, 13)).toISOString());
    expect(whole.ok && whole.notes).toBeUndefined();
  });
});
