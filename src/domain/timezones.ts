import { quote } from './quote.ts';
import { type FieldResult, fail, ok } from './result.ts';
import { suggestTimeZone } from './zone-suggestions.ts';

/**
 * Microsoft Advertising `TimeZoneType` (Customer Management, 75 values) → IANA zone, as chosen in
 * reference/msads-api.md §7. The IANA column follows Microsoft's Scripts mapping
 * (DOCS `scripts/concepts/timezone-mapping.md`) except where tzdata has drifted from the documented
 * UTC offset since; those choices are marked ⚠ below, with the reason from §7.
 */
const canonicalZones = {
  AbuDhabiMuscat: 'Asia/Dubai',
  Adelaide: 'Australia/Adelaide',
  Alaska: 'America/Anchorage',
  // ⚠ Scripts' Asia/Novosibirsk kept although it is +7 today (the documented offset is +6; Almaty is now +5).
  AlmatyNovosibirsk: 'Asia/Novosibirsk',
  AmsterdamBerlinBernRomeStockholmVienna: 'Europe/Berlin',
  Arizona: 'America/Phoenix',
  // ⚠ Scripts maps to Asia/Almaty, which is +5 since 2024; Dhaka keeps the documented +6.
  AstanaDhaka: 'Asia/Dhaka',
  // ⚠ Scripts maps to Europe/Minsk, a fixed +3 since 2011; Athens keeps the documented +2 (with EU DST).
  AthensBuckarestIstanbul: 'Europe/Athens',
  AtlanticTimeCanada: 'America/Halifax',
  AucklandWellington: 'Pacific/Auckland',
  Azores: 'Atlantic/Azores',
  Baghdad: 'Asia/Baghdad',
  BakuTbilisiYerevan: 'Asia/Baku',
  BangkokHanoiJakarta: 'Asia/Bangkok',
  BeijingChongqingHongKongUrumqi: 'Asia/Shanghai',
  BelgradeBratislavaBudapestLjubljanaPrague: 'Europe/Budapest',
  BogotaLimaQuito: 'America/Bogota',
  Brasilia: 'America/Sao_Paulo',
  Brisbane: 'Australia/Brisbane',
  BrusselsCopenhagenMadridParis: 'Europe/Paris',
  Bucharest: 'Europe/Bucharest',
  BuenosAiresGeorgetown: 'America/Argentina/Buenos_Aires',
  Cairo: 'Africa/Cairo',
  CanberraMelbourneSydney: 'Australia/Sydney',
  CapeVerdeIsland: 'Atlantic/Cape_Verde',
  CaracasLaPaz: 'America/Caracas',
  // ⚠ Africa/Casablanca kept: +1 most of the year today (documented 0); Africa/Monrovia would be a fixed 0.
  CasablancaMonrovia: 'Africa/Casablanca',
  CentralAmerica: 'America/Guatemala',
  CentralTimeUSCanada: 'America/Chicago',
  ChennaiKolkataMumbaiNewDelhi: 'Asia/Kolkata',
  // ⚠ Scripts maps to America/Chihuahua, which moved to -6 in 2022; Mazatlan keeps the documented -7.
  ChihuahuaLaPazMazatlan: 'America/Mazatlan',
  Darwin: 'Australia/Darwin',
  EasternTimeUSCanada: 'America/New_York',
  Ekaterinburg: 'Asia/Yekaterinburg',
  FijiKamchatkaMarshallIsland: 'Pacific/Fiji',
  // ⚠ Scripts' America/Godthab is now America/Nuuk, which is -2 (-1 in summer) since 2023, not the documented -3.
  Greenland: 'America/Nuuk',
  GreenwichMeanTimeDublinEdinburghLisbonLondon: 'Europe/London',
  GuadalajaraMexicoCityMonterrey: 'America/Mexico_City',
  GuamPortMoresby: 'Pacific/Port_Moresby',
  HararePretoria: 'Africa/Johannesburg',
  Hawaii: 'Pacific/Honolulu',
  HelsinkiKyivRigaSofiaTallinnVilnius: 'Europe/Kyiv',
  Hobart: 'Australia/Hobart',
  IndianaEast: 'America/Indiana/Indianapolis',
  // "GMT-12": POSIX Etc/ names invert the sign, so UTC-12 is Etc/GMT+12.
  InternationalDateLineWest: 'Etc/GMT+12',
  IrkutskUlaanBataar: 'Asia/Irkutsk',
  IslamabadKarachiTashkent: 'Asia/Karachi',
  Jerusalem: 'Asia/Jerusalem',
  Kabul: 'Asia/Kabul',
  Kathmandu: 'Asia/Kathmandu',
  Krasnoyarsk: 'Asia/Krasnoyarsk',
  KualaLumpurSingapore: 'Asia/Singapore',
  KuwaitRiyadh: 'Asia/Riyadh',
  MidAtlantic: 'America/Noronha',
  // ⚠ Scripts maps to Pacific/Apia, which jumped to +13 in 2011; Pago Pago keeps the documented -11.
  MidwayIslandAndSamoa: 'Pacific/Pago_Pago',
  MoscowStPetersburgVolgograd: 'Europe/Moscow',
  MountainTimeUSCanada: 'America/Denver',
  Nairobi: 'Africa/Nairobi',
  Newfoundland: 'America/St_Johns',
  Nukualofa: 'Pacific/Tongatapu',
  OsakaSapporoTokyo: 'Asia/Tokyo',
  PacificTimeUSCanadaTijuana: 'America/Los_Angeles',
  Perth: 'Australia/Perth',
  Rangoon: 'Asia/Yangon',
  Santiago: 'America/Santiago',
  SarajevoSkopjeWarsawZagreb: 'Europe/Warsaw',
  Saskatchewan: 'America/Regina',
  Seoul: 'Asia/Seoul',
  SolomonIslandNewCaledonia: 'Asia/Magadan',
  SriJayawardenepura: 'Asia/Colombo',
  Taipei: 'Asia/Taipei',
  Tehran: 'Asia/Tehran',
  Vladivostok: 'Asia/Vladivostok',
  WestCentralAfrica: 'Africa/Lagos',
  Yakutsk: 'Asia/Yakutsk',
} as const;

/** The 75 `TimeZoneType` values, in Microsoft's spelling. */
export type MsadsTimeZoneName = keyof typeof canonicalZones;

export const msadsTimeZoneNames: readonly MsadsTimeZoneName[] = Object.keys(
  canonicalZones,
) as MsadsTimeZoneName[];

/**
 * Reporting's `ReportTimeZone` spells four zones differently (DOCS `reporting-service/reporttimezone.md`;
 * matched to `TimeZoneType` by their shared EnumerationValue 43, 28, 74 and 4). Accepted, reported under
 * the Customer Management name.
 */
export const msadsTimeZoneAliases: Readonly<Record<string, MsadsTimeZoneName>> = {
  AthensIslandanbulMinsk: 'AthensBuckarestIstanbul',
  IslandamabadKarachiTashkent: 'IslamabadKarachiTashkent',
  MidwayIslandandSamoa: 'MidwayIslandAndSamoa',
  MagadanSolomonIslandNewCaledonia: 'SolomonIslandNewCaledonia',
};

/** Every Microsoft time zone name closeloop accepts (75 canonical names plus the 4 aliases) → IANA zone. */
export const msadsTimeZones: Record<string, string> = {
  ...canonicalZones,
  ...Object.fromEntries(
    Object.entries(msadsTimeZoneAliases).map(([alias, name]) => [alias, canonicalZones[name]]),
  ),
};

export type TimeZoneSpec =
  | { kind: 'utc' }
  | { kind: 'offset'; minutes: number }
  | { kind: 'named'; name: string; iana: string };

const byLowerName = new Map<string, { name: MsadsTimeZoneName; iana: string }>();
for (const name of msadsTimeZoneNames)
  byLowerName.set(name.toLowerCase(), { name, iana: canonicalZones[name] });
for (const [alias, name] of Object.entries(msadsTimeZoneAliases)) {
  byLowerName.set(alias.toLowerCase(), { name, iana: canonicalZones[name] });
}

/** Finds a Microsoft time zone by name, ignoring case; aliases resolve to the canonical name. */
export function findMsadsTimeZone(text: string): { name: MsadsTimeZoneName; iana: string } | undefined {
  return byLowerName.get(text.trim().toLowerCase());
}

// Real UTC offsets run from -12:00 (Baker Island) to +14:00 (Kiribati, Line Islands).
const maxOffsetMinutes = 14 * 60;
// ±hh, ±hhmm, ±hh:mm, optionally after UTC or GMT ("UTC+05:30", "GMT-5").
const offsetPattern = /^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$/i;

export const acceptedTimeZones =
  'an offset like -0500 or +05:30, UTC, or a Microsoft time zone name like EasternTimeUSCanada';

/** Parses an offset or zone name (the suffix of a Conversion Time cell or `Parameters:TimeZone=`). */
export function parseTimeZoneSpec(text: string): FieldResult<TimeZoneSpec> {
  const trimmed = text.trim();
  const upper = trimmed.toUpperCase();
  if (upper === 'Z' || upper === 'UTC' || upper === 'GMT') return ok({ kind: 'utc' });

  const m = offsetPattern.exec(trimmed);
  if (m) {
    const hours = Number(m[2]);
    const minutes = m[3] === undefined ? 0 : Number(m[3]);
    if (minutes > 59) {
      return fail(
        'INVALID_TIME_ZONE',
        `The time zone ${quote(trimmed)} has ${minutes} minutes; write ${acceptedTimeZones}.`,
      );
    }
    const total = hours * 60 + minutes;
    if (total > maxOffsetMinutes) {
      return fail(
        'INVALID_TIME_ZONE',
        `The offset ${quote(trimmed)} is beyond ±14:00, the largest UTC offset in use; write ${acceptedTimeZones}.`,
      );
    }
    // -00:00 is UTC too; avoid a negative zero.
    return ok({ kind: 'offset', minutes: m[1] === '-' && total > 0 ? -total : total });
  }

  const named = findMsadsTimeZone(trimmed);
  if (named) return ok({ kind: 'named', name: named.name, iana: named.iana });

  if (trimmed === '') return fail('INVALID_TIME_ZONE', `The time zone is empty; write ${acceptedTimeZones}.`);
  return fail('INVALID_TIME_ZONE', unknownZoneMessage(trimmed));
}

/** Why a zone is not taken and, when it is a zone written another way, the Microsoft name to write. */
export function unknownZoneMessage(zone: string, after?: string): string {
  const suggestion = suggestTimeZone(zone);
  const where = after === undefined ? '' : ` after the time ${quote(after)}`;
  const lead = `The time zone ${quote(zone)}${where} is not recognized`;
  return suggestion
    ? `${lead}. ${suggestion} \`closeloop timezones\` lists Microsoft's time zones.`
    : `${lead}; write ${acceptedTimeZones} (\`closeloop timezones\` lists them).`;
}
