import { describe, expect, it } from 'vitest';
import { parseConversionTime } from '../../src/domain/time.ts';
import { parseTimeZoneSpec, type TimeZoneSpec } from '../../src/domain/timezones.ts';
import { formatUtc } from '../../src/domain/utc.ts';
import { expectFail, expectOk } from './expect-result.ts';

function zone(text: string): TimeZoneSpec {
  return expectOk(parseTimeZoneSpec(text));
}

const eastern = zone('EasternTimeUSCanada');
const london = zone('GreenwichMeanTimeDublinEdinburghLisbonLondon');
const sydney = zone('CanberraMelbourneSydney');
const newfoundland = zone('Newfoundland');

/** Parses with the zone from the Parameters row and expects a plain result (no notes). */
function plain(text: string, z: TimeZoneSpec): string {
  const result = parseConversionTime(text, z);
  const value = expectOk(result);
  expect(result.ok && result.notes).toBeFalsy();
  return formatUtc(value);
}

/** Parses an ambiguous time and returns the instant used and the note. */
function ambiguous(text: string, z: TimeZoneSpec): [string, string] {
  const result = parseConversionTime(text, z);
  const value = expectOk(result);
  const notes = result.ok ? (result.notes ?? []) : [];
  expect(notes).toHaveLength(1);
  return [formatUtc(value), notes[0]!];
}

describe('US Eastern (EasternTimeUSCanada)', () => {
  // 2023-03-12: 02:00 EST becomes 03:00 EDT.
  it('reads both sides of the spring-forward gap', () => {
    expect(plain('03/12/2023 01:59:59', eastern)).toBe('2023-03-12T06:59:59Z');
    expect(plain('03/12/2023 03:00:00', eastern)).toBe('2023-03-12T07:00:00Z');
  });

  it.each([
    '03/12/2023 02:00:00',
    '03/12/2023 2:30:00 AM',
    '2023-03-12 02:59:59',
    '2023-03-12T02:30:00 EasternTimeUSCanada',
  ])('refuses %j, which never happened', (text) => {
    const message = expectFail(parseConversionTime(text, eastern), 'NONEXISTENT_LOCAL_TIME');
    expect(message).toContain(`"${text}"`);
    expect(message).toContain('EasternTimeUSCanada');
    expect(message).toContain(
      'on 2023-03-12 the clocks jump from 02:00 to 03:00 (daylight saving time starts)',
    );
    expect(message).toMatch(/2023-03-12 02:\d\d:\d\d-0500/);
  });

  // 2023-11-05: 02:00 EDT becomes 01:00 EST, so 01:00–01:59:59 happens twice.
  it('reads both sides of the fall-back overlap', () => {
    expect(plain('11/05/2023 00:59:59', eastern)).toBe('2023-11-05T04:59:59Z');
    expect(plain('11/05/2023 02:00:00', eastern)).toBe('2023-11-05T07:00:00Z');
  });

  it.each([
    ['11/05/2023 01:00:00', '2023-11-05T05:00:00Z'],
    ['11/05/2023 01:30:00', '2023-11-05T05:30:00Z'],
    ['11/05/2023 1:59:59 AM', '2023-11-05T05:59:59Z'],
  ])('takes the earlier instant for the ambiguous %j and says so', (text, earlier) => {
    const [used, note] = ambiguous(text, eastern);
    expect(used).toBe(earlier);
    expect(note).toContain(`"${text}" is ambiguous in EasternTimeUSCanada`);
    expect(note).toContain('daylight saving time ends');
    expect(note).toContain('the clocks go back from 02:00 to 01:00');
    expect(note).toContain(`the earlier instant ${earlier} was used`);
    expect(note).toContain('-0500');
  });

  it('lets an offset in the cell pick either side, or a time in the gap', () => {
    expect(plain('2023-11-05 01:30:00-0500', eastern)).toBe('2023-11-05T06:30:00Z');
    expect(plain('2023-11-05 01:30:00-0400', eastern)).toBe('2023-11-05T05:30:00Z');
    expect(plain('2023-03-12 02:30:00-0500', eastern)).toBe('2023-03-12T07:30:00Z');
  });
});

describe('London (GreenwichMeanTimeDublinEdinburghLisbonLondon)', () => {
  const name = 'GreenwichMeanTimeDublinEdinburghLisbonLondon';

  // 2024-03-31: 01:00 GMT becomes 02:00 BST.
  it('handles the spring-forward gap', () => {
    expect(plain('2024-03-31 00:59:59', london)).toBe('2024-03-31T00:59:59Z');
    expect(plain('2024-03-31 02:00:00', london)).toBe('2024-03-31T01:00:00Z');
    const message = expectFail(parseConversionTime('2024-03-31 01:30:00', london), 'NONEXISTENT_LOCAL_TIME');
    expect(message).toContain(name);
    expect(message).toContain('the clocks jump from 01:00 to 02:00 (daylight saving time starts)');
    expect(message).toContain('2024-03-31 01:30:00+0000');
  });

  // 2024-10-27: 02:00 BST becomes 01:00 GMT.
  it('handles the fall-back overlap', () => {
    expect(plain('2024-10-27 00:59:59', london)).toBe('2024-10-26T23:59:59Z');
    expect(plain('2024-10-27 02:00:00', london)).toBe('2024-10-27T02:00:00Z');
    const [used, note] = ambiguous(`2024-10-27 01:30:00 ${name}`, undefined as unknown as TimeZoneSpec);
    expect(used).toBe('2024-10-27T00:30:00Z');
    expect(note).toContain('the clocks go back from 02:00 to 01:00');
    expect(note).toContain('2024-10-27 01:30:00+0000');
  });
});

describe('Sydney (CanberraMelbourneSydney), southern hemisphere', () => {
  // 2024-04-07: 03:00 AEDT (+11) becomes 02:00 AEST (+10).
  it('handles the fall-back overlap in April', () => {
    expect(plain('04/07/2024 01:59:59', sydney)).toBe('2024-04-06T14:59:59Z');
    expect(plain('04/07/2024 03:00:00', sydney)).toBe('2024-04-06T17:00:00Z');
    const [used, note] = ambiguous('04/07/2024 02:30:00', sydney);
    expect(used).toBe('2024-04-06T15:30:00Z');
    expect(note).toContain('CanberraMelbourneSydney');
    expect(note).toContain('daylight saving time ends: the clocks go back from 03:00 to 02:00');
    expect(note).toContain('2024-04-07 02:30:00+1000');
  });

  // 2024-10-06: 02:00 AEST becomes 03:00 AEDT.
  it('handles the spring-forward gap in October', () => {
    expect(plain('Oct 06, 2024 1:59:59 AM', sydney)).toBe('2024-10-05T15:59:59Z');
    expect(plain('Oct 06, 2024 3:00:00 AM', sydney)).toBe('2024-10-05T16:00:00Z');
    const message = expectFail(
      parseConversionTime('Oct 06, 2024 2:15:00 AM', sydney),
      'NONEXISTENT_LOCAL_TIME',
    );
    expect(message).toContain(
      'on 2024-10-06 the clocks jump from 02:00 to 03:00 (daylight saving time starts)',
    );
    expect(message).toContain('2024-10-06 02:15:00+1000');
  });
});

describe('half-hour and 45-minute zones', () => {
  // 2024-03-10 02:00 NST (-03:30) becomes 03:00 NDT (-02:30); 2024-11-03 02:00 NDT becomes 01:00 NST.
  it('handles Newfoundland’s transitions', () => {
    expect(plain('2024-03-10 01:59:59', newfoundland)).toBe('2024-03-10T05:29:59Z');
    expect(plain('2024-03-10 03:00:00', newfoundland)).toBe('2024-03-10T05:30:00Z');
    const gap = expectFail(
      parseConversionTime('2024-03-10 02:30:00', newfoundland),
      'NONEXISTENT_LOCAL_TIME',
    );
    expect(gap).toContain('Newfoundland');
    expect(gap).toContain('-0330');
    const [used, note] = ambiguous('2024-11-03 01:30:00', newfoundland);
    expect(used).toBe('2024-11-03T04:00:00Z');
    expect(note).toContain('-0330');
    expect(plain('2024-11-03 02:00:00', newfoundland)).toBe('2024-11-03T05:30:00Z');
  });

  it('handles Kathmandu, including its 1986 move from +05:30 to +05:45', () => {
    expect(plain('2024-06-01 12:00:00 Kathmandu', eastern)).toBe('2024-06-01T06:15:00Z');
    expect(plain('1985-12-31 23:59:59 Kathmandu', eastern)).toBe('1985-12-31T18:29:59Z');
    expect(plain('1986-01-01 00:15:00 Kathmandu', eastern)).toBe('1985-12-31T18:30:00Z');
    const message = expectFail(
      parseConversionTime('1986-01-01 00:10:00 Kathmandu', undefined),
      'NONEXISTENT_LOCAL_TIME',
    );
    expect(message).toContain('the clocks jump from 00:00 to 00:15');
    expect(message).toContain("the zone's UTC offset changes");
  });
});

describe('agreement with Intl', () => {
  // The per-hour offset cache must give exactly what Intl.DateTimeFormat says, uncached: every 997 minutes
  // through 2024 (a prime, so every minute of the hour comes round) and every 20 minutes through each
  // transition day.
  const cases: [name: string, transitionDays: string[]][] = [
    ['EasternTimeUSCanada', ['2024-03-10', '2024-11-03']],
    ['CanberraMelbourneSydney', ['2024-04-07', '2024-10-06']],
    ['Newfoundland', ['2024-03-10', '2024-11-03']],
    ['Kathmandu', []],
  ];
  it.each(cases)('%s', (name, transitionDays) => {
    const spec = zone(name);
    const dtf = new Intl.DateTimeFormat('en-US', {
      timeZone: spec.kind === 'named' ? spec.iana : 'UTC',
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    /** The wall clock (read as UTC) that the zone shows at the instant `ms`, straight from Intl. */
    const wallAt = (ms: number) => {
      const f: Record<string, number> = {};
      for (const part of dtf.formatToParts(ms)) f[part.type] = Number(part.value);
      return Date.UTC(f.year!, f.month! - 1, f.day!, f.hour!, f.minute!, f.second!);
    };

    const walls: number[] = [];
    for (let w = Date.UTC(2024, 0, 1); w < Date.UTC(2025, 0, 1); w += 997 * 60_000) walls.push(w);
    for (const day of transitionDays) {
      for (let w = Date.parse(`${day}T00:00:00Z`), i = 0; i < 72; i++, w += 20 * 60_000) walls.push(w);
    }

    // Collected and checked once: an expect() per point would cost more than the parsing.
    const wrong: string[] = [];
    let gaps = 0;
    let overlaps = 0;
    for (const wall of walls) {
      const text = new Date(wall).toISOString().slice(0, 19).replace('T', ' ');
      const result = parseConversionTime(text, spec);
      if (!result.ok) {
        gaps++;
        if (result.code !== 'NONEXISTENT_LOCAL_TIME') wrong.push(`${text}: ${result.code}`);
        // A gap: no instant within a day shows this wall clock.
        for (let ms = wall - 15 * 3_600_000; ms <= wall + 13 * 3_600_000; ms += 15 * 60_000) {
          if (wallAt(ms) === wall) wrong.push(`${text}: called a gap, but it is shown at ${ms}`);
        }
        continue;
      }
      const instant = result.value.getTime();
      if (wallAt(instant) !== wall) wrong.push(`${text}: ${result.value.toISOString()} shows another time`);
      const againLater = wallAt(instant + 3_600_000) === wall;
      const againEarlier = wallAt(instant - 3_600_000) === wall;
      if (result.notes) {
        overlaps++;
        // The earlier of two: one hour later the clock shows the same time again.
        if (!againLater) wrong.push(`${text}: noted as ambiguous, but it happens once`);
      } else if (againLater || againEarlier) {
        wrong.push(`${text}: ambiguous, but no note (or not the earlier instant)`);
      }
    }
    expect(wrong).toEqual([]);
    const hasDst = transitionDays.length > 0;
    expect(gaps > 0).toBe(hasDst);
    expect(overlaps > 0).toBe(hasDst);
  });
});
