import { DateTime, IANAZone } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  msadsTimeZoneAliases,
  msadsTimeZoneNames,
  msadsTimeZones,
  parseTimeZoneSpec,
} from '../../src/domain/timezones.ts';
import { expectFail, expectOk } from './expect-result.ts';

// The "UTC" column of reference/msads-api.md §7 (Microsoft's documented standard offsets), in hours.
const documentedOffsets: Record<string, number> = {
  AbuDhabiMuscat: 4,
  Adelaide: 9.5,
  Alaska: -9,
  AlmatyNovosibirsk: 6,
  AmsterdamBerlinBernRomeStockholmVienna: 1,
  Arizona: -7,
  AstanaDhaka: 6,
  AthensBuckarestIstanbul: 2,
  AtlanticTimeCanada: -4,
  AucklandWellington: 12,
  Azores: -1,
  Baghdad: 3,
  BakuTbilisiYerevan: 4,
  BangkokHanoiJakarta: 7,
  BeijingChongqingHongKongUrumqi: 8,
  BelgradeBratislavaBudapestLjubljanaPrague: 1,
  BogotaLimaQuito: -5,
  Brasilia: -3,
  Brisbane: 10,
  BrusselsCopenhagenMadridParis: 1,
  Bucharest: 2,
  BuenosAiresGeorgetown: -3,
  Cairo: 2,
  CanberraMelbourneSydney: 10,
  CapeVerdeIsland: -1,
  CaracasLaPaz: -4,
  CasablancaMonrovia: 0,
  CentralAmerica: -6,
  CentralTimeUSCanada: -6,
  ChennaiKolkataMumbaiNewDelhi: 5.5,
  ChihuahuaLaPazMazatlan: -7,
  Darwin: 9.5,
  EasternTimeUSCanada: -5,
  Ekaterinburg: 5,
  FijiKamchatkaMarshallIsland: 12,
  Greenland: -3,
  GreenwichMeanTimeDublinEdinburghLisbonLondon: 0,
  GuadalajaraMexicoCityMonterrey: -6,
  GuamPortMoresby: 10,
  HararePretoria: 2,
  Hawaii: -10,
  HelsinkiKyivRigaSofiaTallinnVilnius: 2,
  Hobart: 10,
  IndianaEast: -5,
  InternationalDateLineWest: -12,
  IrkutskUlaanBataar: 8,
  IslamabadKarachiTashkent: 5,
  Jerusalem: 2,
  Kabul: 4.5,
  Kathmandu: 5.75,
  Krasnoyarsk: 7,
  KualaLumpurSingapore: 8,
  KuwaitRiyadh: 3,
  MidAtlantic: -2,
  MidwayIslandAndSamoa: -11,
  MoscowStPetersburgVolgograd: 3,
  MountainTimeUSCanada: -7,
  Nairobi: 3,
  Newfoundland: -3.5,
  Nukualofa: 13,
  OsakaSapporoTokyo: 9,
  PacificTimeUSCanadaTijuana: -8,
  Perth: 8,
  Rangoon: 6.5,
  Santiago: -4,
  SarajevoSkopjeWarsawZagreb: 1,
  Saskatchewan: -6,
  Seoul: 9,
  SolomonIslandNewCaledonia: 11,
  SriJayawardenepura: 5.5,
  Taipei: 8,
  Tehran: 3.5,
  Vladivostok: 10,
  WestCentralAfrica: 1,
  Yakutsk: 9,
};

// The ⚠ zones whose chosen IANA zone no longer has the documented offset; §7 keeps them on purpose.
const knownDrift: Record<string, { hours: number; why: string }> = {
  AlmatyNovosibirsk: { hours: 7, why: 'Asia/Novosibirsk kept; it is +7 since 2016' },
  CasablancaMonrovia: { hours: 1, why: 'Africa/Casablanca kept; +1 outside Ramadan since 2018' },
  Greenland: { hours: -2, why: 'America/Nuuk is -2 since 2023' },
};

/** Standard offset in 2025: the smaller of the January and July offsets (daylight saving time adds). */
function standardOffsetHours(iana: string): number {
  const zone = IANAZone.create(iana);
  return Math.min(zone.offset(Date.UTC(2025, 0, 15)), zone.offset(Date.UTC(2025, 6, 15))) / 60;
}

describe('msadsTimeZones', () => {
  it("has Microsoft's 75 TimeZoneType values plus the 4 Reporting aliases", () => {
    expect(msadsTimeZoneNames).toHaveLength(75);
    expect(new Set(msadsTimeZoneNames).size).toBe(75);
    expect(Object.keys(msadsTimeZones)).toHaveLength(79);
    expect(Object.keys(msadsTimeZoneAliases).sort()).toEqual([
      'AthensIslandanbulMinsk',
      'IslandamabadKarachiTashkent',
      'MagadanSolomonIslandNewCaledonia',
      'MidwayIslandandSamoa',
    ]);
    expect([...msadsTimeZoneNames].sort()).toEqual(Object.keys(documentedOffsets).sort());
  });

  it('maps every name to a zone luxon knows', () => {
    for (const [name, iana] of Object.entries(msadsTimeZones)) {
      expect(IANAZone.isValidZone(iana), `${name} → ${iana}`).toBe(true);
    }
  });

  it('maps aliases to the same zone as their canonical name', () => {
    for (const [alias, name] of Object.entries(msadsTimeZoneAliases)) {
      expect(msadsTimeZones[alias]).toBe(msadsTimeZones[name]);
    }
  });

  it.each(msadsTimeZoneNames.map((name) => [name]))('%s has the documented standard offset', (name) => {
    const iana = msadsTimeZones[name]!;
    const drift = knownDrift[name];
    expect(standardOffsetHours(iana), drift?.why ?? iana).toBe(drift ? drift.hours : documentedOffsets[name]);
  });

  it('uses the chosen zones for the ⚠ and ≠ entries of §7', () => {
    expect(msadsTimeZones.AstanaDhaka).toBe('Asia/Dhaka');
    expect(msadsTimeZones.AthensBuckarestIstanbul).toBe('Europe/Athens');
    expect(msadsTimeZones.ChihuahuaLaPazMazatlan).toBe('America/Mazatlan');
    expect(msadsTimeZones.MidwayIslandAndSamoa).toBe('Pacific/Pago_Pago');
    expect(msadsTimeZones.InternationalDateLineWest).toBe('Etc/GMT+12');
    expect(msadsTimeZones.HelsinkiKyivRigaSofiaTallinnVilnius).toBe('Europe/Kyiv');
  });

  it('follows daylight saving time in named zones', () => {
    const ny = DateTime.fromObject(
      { year: 2025, month: 7, day: 1 },
      { zone: msadsTimeZones.EasternTimeUSCanada },
    );
    expect(ny.offset).toBe(-240);
  });
});

describe('parseTimeZoneSpec', () => {
  it.each([
    ['-0500', -300],
    ['+0530', 330],
    ['+05:30', 330],
    ['-05', -300],
    ['+5', 300],
    ['-03:30', -210],
    ['+0545', 345],
    ['+14:00', 840],
    ['-12:00', -720],
    ['UTC+05:30', 330],
    ['GMT-5', -300],
    ['+0000', 0],
    ['-00:00', 0],
    ['  -0500 ', -300],
  ])('reads the offset %s', (text, minutes) => {
    expect(expectOk(parseTimeZoneSpec(text))).toEqual({ kind: 'offset', minutes });
  });

  it.each(['Z', 'z', 'UTC', 'utc', 'GMT', ' gmt '])('reads %s as UTC', (text) => {
    expect(expectOk(parseTimeZoneSpec(text))).toEqual({ kind: 'utc' });
  });

  it('reads Microsoft names in any case and returns the canonical spelling', () => {
    expect(expectOk(parseTimeZoneSpec('EasternTimeUSCanada'))).toEqual({
      kind: 'named',
      name: 'EasternTimeUSCanada',
      iana: 'America/New_York',
    });
    expect(expectOk(parseTimeZoneSpec('easterntimeuscanada'))).toMatchObject({ name: 'EasternTimeUSCanada' });
    expect(expectOk(parseTimeZoneSpec(' KATHMANDU '))).toMatchObject({
      name: 'Kathmandu',
      iana: 'Asia/Kathmandu',
    });
  });

  it.each([
    ['AthensIslandanbulMinsk', 'AthensBuckarestIstanbul', 'Europe/Athens'],
    ['IslandamabadKarachiTashkent', 'IslamabadKarachiTashkent', 'Asia/Karachi'],
    ['MidwayIslandandSamoa', 'MidwayIslandAndSamoa', 'Pacific/Pago_Pago'],
    ['MagadanSolomonIslandNewCaledonia', 'SolomonIslandNewCaledonia', 'Asia/Magadan'],
  ])('reads the Reporting alias %s as %s', (alias, name, iana) => {
    expect(expectOk(parseTimeZoneSpec(alias))).toEqual({ kind: 'named', name, iana });
  });

  it.each(['Eastern', '0500', '+05:3', 'UTC+', '+0500 EasternTimeUSCanada', 'Europe/Nowhere'])(
    'refuses %s and says what is accepted',
    (text) => {
      const message = expectFail(parseTimeZoneSpec(text), 'INVALID_TIME_ZONE');
      expect(message).toContain(`"${text.trim()}"`);
      expect(message).toContain('-0500');
      expect(message).toContain('EasternTimeUSCanada');
    },
  );

  it('refuses offsets beyond ±14:00 and minutes beyond 59', () => {
    expect(expectFail(parseTimeZoneSpec('+1500'), 'INVALID_TIME_ZONE')).toContain('±14:00');
    expect(expectFail(parseTimeZoneSpec('-05:75'), 'INVALID_TIME_ZONE')).toContain('75 minutes');
  });

  it('refuses an empty zone', () => {
    expect(expectFail(parseTimeZoneSpec('  '), 'INVALID_TIME_ZONE')).toContain('empty');
  });

  it('cuts long text in messages', () => {
    const message = expectFail(parseTimeZoneSpec('x'.repeat(500)), 'INVALID_TIME_ZONE');
    expect(message).toContain('…');
    expect(message.length).toBeLessThan(250);
  });
});
