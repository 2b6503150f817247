import { describe, expect, it } from 'vitest';
import { parseConversionTime } from '../../src/domain/time.ts';
import { parseTimeZoneSpec, type TimeZoneSpec } from '../../src/domain/timezones.ts';
import { formatUtc } from '../../src/domain/utc.ts';
import { expectFail, expectOk } from './expect-result.ts';

function zone(text: string): TimeZoneSpec {
  return expectOk(parseTimeZoneSpec(text));
}

function utcOf(text: string, fallback?: TimeZoneSpec): string {
  return formatUtc(expectOk(parseConversionTime(text, fallback)));
}

const eastern = zone('EasternTimeUSCanada');
const sydney = zone('CanberraMelbourneSydney');

// The nine formats of DESIGN.md, all for the wall time 1 June 2017 13:00:00. The first five carry no
// zone; the last four carry one in the cell (`z` is replaced by an offset or a zone name).
const zoneless: [format: string, text: string][] = [
  ['MM/dd/yyyy hh:mm:ss tt', '06/01/2017 1:00:00 PM'],
  ['MMM dd, yyyy hh:mm:ss tt', 'Jun 01, 2017 1:00:00 PM'],
  ['MM/dd/yyyy HH:mm:ss', '06/01/2017 13:00:00'],
  ['yyyy-MM-dd HH:mm:ss', '2017-06-01 13:00:00'],
  ['yyyy-MM-ddTHH:mm:ss', '2017-06-01T13:00:00'],
];
const withOffset: [format: string, template: string][] = [
  ['yyyy-MM-dd HH:mm:ss+z', '2017-06-01 13:00:00z'],
  ['yyyy-MM-ddTHH:mm:ss+z', '2017-06-01T13:00:00z'],
];
const withName: [format: string, template: string][] = [
  ['yyyy-MM-dd HH:mm:ss zzzz', '2017-06-01 13:00:00 z'],
  ['yyyy-MM-ddTHH:mm:ss zzzz', '2017-06-01T13:00:00 z'],
];

describe('parseConversionTime: the nine formats × where the zone comes from', () => {
  describe.each(zoneless)('%s ("%s")', (_format, text) => {
    it('is UTC with no zone anywhere', () => expect(utcOf(text)).toBe('2017-06-01T13:00:00Z'));
    it('uses the Parameters offset', () => expect(utcOf(text, zone('-0500'))).toBe('2017-06-01T18:00:00Z'));
    it('uses the Parameters zone name, with DST', () => {
      expect(utcOf(text, eastern)).toBe('2017-06-01T17:00:00Z');
      expect(utcOf(text, sydney)).toBe('2017-06-01T03:00:00Z');
    });
    // Not in Microsoft's list, but unambiguous: a zone after any format is read, and wins.
    it('takes an offset written after it over the Parameters zone', () => {
      expect(utcOf(`${text} +0530`, eastern)).toBe('2017-06-01T07:30:00Z');
    });
    it('takes a zone name written after it over the Parameters zone', () => {
      expect(utcOf(`${text} CanberraMelbourneSydney`, zone('-0500'))).toBe('2017-06-01T03:00:00Z');
    });
  });

  describe.each(withOffset)('%s', (_format, template) => {
    it.each([
      ['+0500', '2017-06-01T08:00:00Z'],
      ['-0100', '2017-06-01T14:00:00Z'],
      ['+05:00', '2017-06-01T08:00:00Z'],
      ['-05', '2017-06-01T18:00:00Z'],
      ['+0545', '2017-06-01T07:15:00Z'],
      ['-03:30', '2017-06-01T16:30:00Z'],
      ['Z', '2017-06-01T13:00:00Z'],
      [' +0500', '2017-06-01T08:00:00Z'],
    ])('reads %s in the cell', (offset, expected) => {
      const text = template.replace('z', offset);
      expect(utcOf(text)).toBe(expected);
      // The cell's offset wins over any Parameters zone.
      expect(utcOf(text, zone('-0800'))).toBe(expected);
      expect(utcOf(text, eastern)).toBe(expected);
    });
  });

  describe.each(withName)('%s', (_format, template) => {
    it.each([
      ['EasternTimeUSCanada', '2017-06-01T17:00:00Z'],
      ['easterntimeuscanada', '2017-06-01T17:00:00Z'],
      ['CanberraMelbourneSydney', '2017-06-01T03:00:00Z'],
      ['GreenwichMeanTimeDublinEdinburghLisbonLondon', '2017-06-01T12:00:00Z'],
      ['Kathmandu', '2017-06-01T07:15:00Z'],
      ['Newfoundland', '2017-06-01T15:30:00Z'],
      ['AmsterdamBerlinBernRomeStockholmVienna', '2017-06-01T11:00:00Z'],
      ['IslandamabadKarachiTashkent', '2017-06-01T08:00:00Z'],
    ])('reads %s in the cell', (name, expected) => {
      const text = template.replace('z', name);
      expect(utcOf(text)).toBe(expected);
      expect(utcOf(text, zone('+0900'))).toBe(expected);
      expect(utcOf(text, sydney)).toBe(expected);
    });
  });

  it('reads every format in one file, mixed, as the same instant', () => {
    const rows = [
      ...zoneless.map(([, text]) => text),
      ...withOffset.map(([, t]) => t.replace('z', '-0400')),
      ...withName.map(([, t]) => t.replace('z', 'EasternTimeUSCanada')),
      '6/1/2017 1:00:00 pm',
      '2017-06-01 17:00:00Z',
    ];
    expect(new Set(rows.map((row) => utcOf(row, eastern)))).toEqual(new Set(['2017-06-01T17:00:00Z']));
  });
});

describe('parseConversionTime: tolerated variations', () => {
  it.each([
    ['6/1/2017 1:00:00 PM', '2017-06-01T13:00:00Z'],
    ['06/01/2017 1:00:00 pm', '2017-06-01T13:00:00Z'],
    ['06/01/2017 1:00:00PM', '2017-06-01T13:00:00Z'],
    ['06/01/2017 01:00:00 Am', '2017-06-01T01:00:00Z'],
    ['06/01/2017 12:00:00 AM', '2017-06-01T00:00:00Z'],
    ['06/01/2017 12:30:00 PM', '2017-06-01T12:30:00Z'],
    ['06/01/2017 11:59:59 PM', '2017-06-01T23:59:59Z'],
    ['Jun 1, 2017 1:00:00 PM', '2017-06-01T13:00:00Z'],
    ['jun 01, 2017 1:00:00 pm', '2017-06-01T13:00:00Z'],
    ['June 01, 2017 1:00:00 PM', '2017-06-01T13:00:00Z'],
    ['Sep 30, 2017 13:00:00', '2017-09-30T13:00:00Z'],
    ['Dec 31, 2017 11:59:59 PM', '2017-12-31T23:59:59Z'],
    ['2017-6-1 9:05:07', '2017-06-01T09:05:07Z'],
    ['2017-06-01t13:00:00z', '2017-06-01T13:00:00Z'],
    ['2017-06-01T13:00:00.999', '2017-06-01T13:00:00Z'],
    ['2017-06-01T13:00:00.5+02:00', '2017-06-01T11:00:00Z'],
    ['  2017-06-01 13:00:00  ', '2017-06-01T13:00:00Z'],
    ['\t06/01/2017 1:00:00 PM\n', '2017-06-01T13:00:00Z'],
    ['02/29/2024 00:00:00', '2024-02-29T00:00:00Z'],
    ['2017-06-01 13:00:00 UTC', '2017-06-01T13:00:00Z'],
    ['06/01/2017 1:00:00 PM AmsterdamBerlinBernRomeStockholmVienna', '2017-06-01T11:00:00Z'],
    ['06/01/2017 13:00:00 AmsterdamBerlinBernRomeStockholmVienna', '2017-06-01T11:00:00Z'],
  ])('reads %j', (text, expected) => {
    expect(utcOf(text)).toBe(expected);
  });

  it('returns whole seconds', () => {
    const d = expectOk(parseConversionTime('2017-06-01T13:00:00.999', undefined));
    expect(d.getUTCMilliseconds()).toBe(0);
  });

  it('reads the fixed +05:45 and -03:30/-02:30 zones from the Parameters row', () => {
    expect(utcOf('2024-01-01 00:00:00', zone('Kathmandu'))).toBe('2023-12-31T18:15:00Z');
    expect(utcOf('2024-01-15 12:00:00', zone('Newfoundland'))).toBe('2024-01-15T15:30:00Z');
    expect(utcOf('2024-07-15 12:00:00', zone('Newfoundland'))).toBe('2024-07-15T14:30:00Z');
    expect(utcOf('2024-01-15 12:00:00', zone('+0545'))).toBe('2024-01-15T06:15:00Z');
  });
});

describe('parseConversionTime: problems', () => {
  it.each(['', '   ', '\t'])('calls %j missing', (text) => {
    const message = expectFail(parseConversionTime(text, undefined), 'MISSING_CONVERSION_TIME');
    expect(message).toContain('empty');
    expect(message).toContain('2017-06-01 13:00:00');
  });

  it.each([
    'tomorrow',
    '2017/06/01 13:00:00',
    '13:00:00 06/01/2017',
    '1496322000',
    '2017-06-01 13:00:000',
    '2017-06-01X13:00:00',
  ])('refuses %j, quoting it and showing two formats', (text) => {
    const message = expectFail(parseConversionTime(text, undefined), 'INVALID_TIME_FORMAT');
    expect(message).toContain(`"${text}"`);
    expect(message).toContain('06/01/2017 1:00:00 PM');
    expect(message).toContain('2017-06-01 13:00:00');
  });

  it('cuts a long cell in the message', () => {
    const text = `2017-06-01 ${'x'.repeat(300)}`;
    const message = expectFail(parseConversionTime(text, undefined), 'INVALID_TIME_FORMAT');
    expect(message).toContain('"2017-06-01 xxx');
    expect(message).toContain('…"');
    expect(message).not.toContain('x'.repeat(60));
  });

  it('says when the seconds are missing', () => {
    const message = expectFail(parseConversionTime('2017-06-01 13:00', undefined), 'INVALID_TIME_FORMAT');
    expect(message).toContain('no seconds');
    expect(message).toContain('"2017-06-01 13:00:00"');
    expect(expectFail(parseConversionTime('6/1/2017 1:00 PM', undefined), 'INVALID_TIME_FORMAT')).toContain(
      '"6/1/2017 1:00:00 PM"',
    );
  });

  it('says when the time of day is missing', () => {
    const message = expectFail(parseConversionTime('06/01/2017', undefined), 'INVALID_TIME_FORMAT');
    expect(message).toContain('no time of day');
    expect(message).toContain('06/01/2017 00:00:00');
  });

  it('recognizes an Excel serial number and day.month.year dates', () => {
    expect(expectFail(parseConversionTime('42887.54', undefined), 'INVALID_TIME_FORMAT')).toContain('Excel');
    expect(
      expectFail(parseConversionTime('01.06.2017 13:00:00', undefined), 'INVALID_TIME_FORMAT'),
    ).toContain('dots');
  });

  it('names a month name it does not know', () => {
    const message = expectFail(
      parseConversionTime('Jux 01, 2017 1:00:00 PM', undefined),
      'INVALID_TIME_FORMAT',
    );
    expect(message).toContain('"Jux"');
    expect(message).toContain('English month name');
  });

  it.each([
    ['02/30/2023 10:00:00', 'February 2023 has 28 days'],
    ['02/29/2023 10:00:00', 'February 2023 has 28 days'],
    ['2023-04-31 10:00:00', 'April 2023 has 30 days'],
    ['2023-06-00 10:00:00', 'June 2023 has 30 days'],
    ['2023-06-01 13:61:00', '13:61:00, which does not exist'],
    ['2023-06-01 24:00:00', '24:00:00, which does not exist'],
    ['2023-06-01 23:59:60', '23:59:60, which does not exist'],
    ['06/01/2017 13:00:00 PM', 'the hour 13 with PM'],
    ['06/01/2017 0:30:00 AM', 'the hour 0 with AM'],
    ['2023-13-01 10:00:00', 'the month 13'],
    ['0099-06-01 10:00:00', 'the year 0099'],
  ])('calls %j an invalid date', (text, detail) => {
    const message = expectFail(parseConversionTime(text, undefined), 'INVALID_DATE');
    expect(message).toContain(`"${text}"`);
    expect(message).toContain(detail);
  });

  it('explains month-first order for a day-first date', () => {
    const message = expectFail(parseConversionTime('25/06/2017 13:00:00', undefined), 'INVALID_DATE');
    expect(message).toContain('month first (MM/dd/yyyy)');
    expect(message).toContain('If you meant 25 June 2017, write 06/25/2017');
  });

  it('says how to write a 24-hour time that has PM', () => {
    const message = expectFail(parseConversionTime('06/01/2017 13:00:00 PM', undefined), 'INVALID_DATE');
    expect(message).toContain('1 to 12');
    expect(message).toContain('13:00:00 without PM');
  });

  it.each([
    ['2017-06-01 13:00:00 Eastern', '"Eastern"'],
    ['2017-06-01 13:00:00+1500', '"+1500"'],
  ])('refuses the zone in %j', (text, quoted) => {
    const message = expectFail(parseConversionTime(text, eastern), 'INVALID_TIME_ZONE');
    expect(message).toContain(quoted);
    expect(message).toContain('-0500');
    expect(message).toContain('EasternTimeUSCanada');
  });

  it('refuses a hand-built zone spec whose IANA zone this server does not know', () => {
    const mars: TimeZoneSpec = { kind: 'named', name: 'OlympusMons', iana: 'Mars/Olympus_Mons' };
    const message = expectFail(parseConversionTime('2017-06-01 13:00:00', mars), 'INVALID_TIME_ZONE');
    expect(message).toContain('OlympusMons (Mars/Olympus_Mons)');
  });
});
