import { describe, expect, it } from 'vitest';
import { parseConversionTime } from '../../src/domain/time.ts';
import { msadsTimeZoneNames, parseTimeZoneSpec } from '../../src/domain/timezones.ts';
import { windowsZones } from '../../src/domain/windows-zones.ts';
import { msadsZonesForIana, suggestTimeZone } from '../../src/domain/zone-suggestions.ts';
import { formatUtcOffset, msadsTimeZoneTable } from '../../src/domain/zone-table.ts';
import { expectFail } from './expect-result.ts';

describe('suggestTimeZone: the Microsoft name for a zone written another way', () => {
  it.each([
    // Windows ids (.NET, SQL Server, Outlook)
    ['Eastern Standard Time', 'EasternTimeUSCanada'],
    ['eastern standard time', 'EasternTimeUSCanada'],
    ['W. Europe Standard Time', 'AmsterdamBerlinBernRomeStockholmVienna'],
    ['AUS Eastern Standard Time', 'CanberraMelbourneSydney'],
    ['India Standard Time', 'ChennaiKolkataMumbaiNewDelhi'],
    ['US Eastern Standard Time', 'IndianaEast'],
    // display names, as Windows and the Microsoft Advertising UI show them
    ['(UTC-05:00) Eastern Time (US & Canada)', 'EasternTimeUSCanada'],
    [
      '(GMT+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna',
      'AmsterdamBerlinBernRomeStockholmVienna',
    ],
    // IANA names, the zone itself or one keeping the same clock all year
    ['America/New_York', 'EasternTimeUSCanada'],
    ['Asia/Calcutta', 'ChennaiKolkataMumbaiNewDelhi'],
    ['Europe/Lisbon', 'GreenwichMeanTimeDublinEdinburghLisbonLondon'],
    // abbreviations: a fixed offset, or the zone that follows daylight saving time
    ['EST', '-0500, or EasternTimeUSCanada'],
    ['cest', '+0200, or AmsterdamBerlinBernRomeStockholmVienna'],
    ['IST', '+0530, or ChennaiKolkataMumbaiNewDelhi'],
  ])('%j → %s', (text, expected) => {
    expect(suggestTimeZone(text)).toContain(expected);
  });

  it('says when several Microsoft zones keep the same clock, and when none does', () => {
    expect(suggestTimeZone('Europe/Zurich')).toMatch(
      /same clock: any of AmsterdamBerlin\w+, \w+, \w+ \(and 1 more\)/,
    );
    expect(suggestTimeZone('Pacific/Chatham')).toContain(
      'no Microsoft time zone keeps the same clock; write its UTC offset',
    );
  });

  it('suggests nothing for what is no zone at all', () => {
    for (const text of ['MarsStandardTime', 'Eastern', 'Europe/Nowhere', ''])
      expect(suggestTimeZone(text)).toBeUndefined();
  });

  it('every Windows id of CLDR names a zone this runtime knows', () => {
    expect(Object.keys(windowsZones)).toHaveLength(139);
    for (const [id, iana] of Object.entries(windowsZones)) expect(msadsZonesForIana(iana), id).toBeDefined();
  });

  it('every Microsoft zone is its own best match', () => {
    for (const name of msadsTimeZoneNames) {
      const iana = expectZone(name);
      expect(msadsZonesForIana(iana).names, name).toContain(name);
    }
  });
});

function expectZone(name: string): string {
  const spec = parseTimeZoneSpec(name);
  if (!spec.ok || spec.value.kind !== 'named') throw new Error(`${name} is not a named zone`);
  return spec.value.iana;
}

describe('the messages of an unknown zone', () => {
  it('a Parameters row or a cell zone written the Windows way names the Microsoft zone', () => {
    const message = expectFail(parseTimeZoneSpec('Eastern Standard Time'), 'INVALID_TIME_ZONE');
    expect(message).toBe(
      'The time zone "Eastern Standard Time" is not recognized. It is a Windows time zone name (America/New_York); write Microsoft\'s name for that zone: EasternTimeUSCanada. `closeloop timezones` lists Microsoft\'s time zones.',
    );
    const cell = expectFail(
      parseConversionTime('2026-06-01 13:00:00 America/New_York', undefined),
      'INVALID_TIME_ZONE',
    );
    expect(cell).toContain('The time zone "America/New_York" after the time');
    expect(cell).toContain('EasternTimeUSCanada');
    const abbreviation = expectFail(
      parseConversionTime('06/01/2026 1:00:00 PM EST', undefined),
      'INVALID_TIME_ZONE',
    );
    expect(abbreviation).toContain('EST is a fixed UTC offset: write -0500, or EasternTimeUSCanada');
  });

  it('anything else is told what is accepted', () => {
    const message = expectFail(parseTimeZoneSpec('MarsStandardTime'), 'INVALID_TIME_ZONE');
    expect(message).toContain('write an offset like -0500');
    expect(message).toContain('`closeloop timezones` lists them');
  });
});

describe('msadsTimeZoneTable', () => {
  it('gives every Microsoft zone its offset at the instant asked, west to east', () => {
    const winter = msadsTimeZoneTable(new Date('2026-01-15T12:00:00Z'));
    const summer = msadsTimeZoneTable(new Date('2026-07-15T12:00:00Z'));
    expect(winter).toHaveLength(75);
    const eastern = (rows: typeof winter) => rows.find((z) => z.name === 'EasternTimeUSCanada');
    expect(eastern(winter)).toMatchObject({
      iana: 'America/New_York',
      offsetMinutes: -300,
      offset: 'UTC-05:00',
    });
    expect(eastern(summer)).toMatchObject({ offsetMinutes: -240, offset: 'UTC-04:00' });
    expect(winter[0]).toMatchObject({ name: 'InternationalDateLineWest', offset: 'UTC-12:00' });
    const offsets = winter.map((z) => z.offsetMinutes);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    expect(winter.find((z) => z.name === 'AthensBuckarestIstanbul')?.aliases).toEqual([
      'AthensIslandanbulMinsk',
    ]);
  });

  it.each([
    [-300, 'UTC-05:00'],
    [330, 'UTC+05:30'],
    [0, 'UTC+00:00'],
    [-570, 'UTC-09:30'],
  ])('formatUtcOffset(%i) = %s', (minutes, text) => {
    expect(formatUtcOffset(minutes)).toBe(text);
  });
});
