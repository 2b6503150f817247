import { IANAZone } from 'luxon';
import { msadsTimeZoneNames, msadsTimeZones } from './timezones.ts';
import { windowsZones } from './windows-zones.ts';

/*
 * When a time zone is not one Microsoft's import takes, the zone people meant is usually written another
 * way: a Windows id ("Eastern Standard Time", what .NET, SQL Server and Outlook write), the display name
 * Windows and the Microsoft Advertising UI show ("(UTC-05:00) Eastern Time (US & Canada)"), an IANA name
 * ("America/New_York", what every other system writes) or an abbreviation ("EST"). This names the
 * Microsoft time zone for each, so the error can say what to write instead.
 */

/** Common abbreviations → the Microsoft zones they may mean, with the fixed offset the abbreviation is. */
const abbreviations: Readonly<Record<string, { offset: string; names: string[] }>> = {
  EST: { offset: '-0500', names: ['EasternTimeUSCanada'] },
  EDT: { offset: '-0400', names: ['EasternTimeUSCanada'] },
  CST: { offset: '-0600', names: ['CentralTimeUSCanada'] },
  CDT: { offset: '-0500', names: ['CentralTimeUSCanada'] },
  MST: { offset: '-0700', names: ['MountainTimeUSCanada', 'Arizona'] },
  MDT: { offset: '-0600', names: ['MountainTimeUSCanada'] },
  PST: { offset: '-0800', names: ['PacificTimeUSCanadaTijuana'] },
  PDT: { offset: '-0700', names: ['PacificTimeUSCanadaTijuana'] },
  AKST: { offset: '-0900', names: ['Alaska'] },
  AKDT: { offset: '-0800', names: ['Alaska'] },
  HST: { offset: '-1000', names: ['Hawaii'] },
  AST: { offset: '-0400', names: ['AtlanticTimeCanada'] },
  ADT: { offset: '-0300', names: ['AtlanticTimeCanada'] },
  NST: { offset: '-0330', names: ['Newfoundland'] },
  NDT: { offset: '-0230', names: ['Newfoundland'] },
  BRT: { offset: '-0300', names: ['Brasilia'] },
  ART: { offset: '-0300', names: ['BuenosAiresGeorgetown'] },
  WET: { offset: '+0000', names: ['GreenwichMeanTimeDublinEdinburghLisbonLondon'] },
  WEST: { offset: '+0100', names: ['GreenwichMeanTimeDublinEdinburghLisbonLondon'] },
  BST: { offset: '+0100', names: ['GreenwichMeanTimeDublinEdinburghLisbonLondon'] },
  CET: {
    offset: '+0100',
    names: ['AmsterdamBerlinBernRomeStockholmVienna', 'BrusselsCopenhagenMadridParis'],
  },
  CEST: {
    offset: '+0200',
    names: ['AmsterdamBerlinBernRomeStockholmVienna', 'BrusselsCopenhagenMadridParis'],
  },
  EET: { offset: '+0200', names: ['HelsinkiKyivRigaSofiaTallinnVilnius', 'AthensBuckarestIstanbul'] },
  EEST: { offset: '+0300', names: ['HelsinkiKyivRigaSofiaTallinnVilnius', 'AthensBuckarestIstanbul'] },
  WAT: { offset: '+0100', names: ['WestCentralAfrica'] },
  SAST: { offset: '+0200', names: ['HararePretoria'] },
  EAT: { offset: '+0300', names: ['Nairobi'] },
  MSK: { offset: '+0300', names: ['MoscowStPetersburgVolgograd'] },
  GST: { offset: '+0400', names: ['AbuDhabiMuscat'] },
  PKT: { offset: '+0500', names: ['IslamabadKarachiTashkent'] },
  IST: { offset: '+0530', names: ['ChennaiKolkataMumbaiNewDelhi'] },
  ICT: { offset: '+0700', names: ['BangkokHanoiJakarta'] },
  WIB: { offset: '+0700', names: ['BangkokHanoiJakarta'] },
  HKT: { offset: '+0800', names: ['BeijingChongqingHongKongUrumqi'] },
  SGT: { offset: '+0800', names: ['KualaLumpurSingapore'] },
  AWST: { offset: '+0800', names: ['Perth'] },
  JST: { offset: '+0900', names: ['OsakaSapporoTokyo'] },
  KST: { offset: '+0900', names: ['Seoul'] },
  ACST: { offset: '+0930', names: ['Darwin', 'Adelaide'] },
  ACDT: { offset: '+1030', names: ['Adelaide'] },
  AEST: { offset: '+1000', names: ['CanberraMelbourneSydney', 'Brisbane'] },
  AEDT: { offset: '+1100', names: ['CanberraMelbourneSydney'] },
  NZST: { offset: '+1200', names: ['AucklandWellington'] },
  NZDT: { offset: '+1300', names: ['AucklandWellington'] },
};

/**
 * Instants at which two zones must have the same offset to keep the same clock: every 7 days of 2025.
 * Weekly, so that zones whose daylight saving time starts on other dates (the US in March, the EU at the
 * end of March) differ. A fixed year keeps the suggestion a pure function of the tz database.
 */
const samples = Array.from({ length: 53 }, (_, week) => Date.UTC(2025, 0, 1) + week * 7 * 86_400_000);

const fingerprints = new Map<string, string>();
function fingerprint(iana: string): string {
  let f = fingerprints.get(iana);
  if (f === undefined) {
    const zone = IANAZone.create(iana);
    f = samples.map((ms) => zone.offset(ms)).join(',');
    fingerprints.set(iana, f);
  }
  return f;
}

/** The zone's canonical IANA id as this runtime knows it (aliases such as Asia/Calcutta resolve), or undefined. */
function canonicalIana(name: string): string | undefined {
  if (!IANAZone.isValidZone(name)) return undefined;
  return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
}

/**
 * The Microsoft time zones for an IANA zone: the one mapped to the same zone, else those that keep the
 * same clock all year (Europe/Zurich → AmsterdamBerlinBernRomeStockholmVienna, …). Empty when none does.
 */
export function msadsZonesForIana(iana: string): { names: string[]; sameZone: boolean } {
  const canonical = canonicalIana(iana);
  if (canonical === undefined) return { names: [], sameZone: false };
  const same = msadsTimeZoneNames.filter((name) => canonicalIana(msadsTimeZones[name]!) === canonical);
  if (same.length > 0) return { names: same, sameZone: true };
  const clock = fingerprint(canonical);
  return {
    names: msadsTimeZoneNames.filter((name) => fingerprint(msadsTimeZones[name]!) === clock),
    sameZone: false,
  };
}

const windowsByLower = new Map(
  Object.entries(windowsZones).map(([id, iana]) => [id.toLowerCase(), { id, iana }]),
);
/** Microsoft's names by lower case; built on first use (timezones.ts imports this module, and vice versa). */
function msadsByLowerName(name: string): string | undefined {
  return msadsTimeZoneNames.find((n) => n.toLowerCase() === name);
}

/** "A", "A or B", "any of A, B, C", "any of A, B, C (and 2 more)". */
function oneOf(names: string[]): string {
  if (names.length <= 2) return names.join(' or ');
  const more = names.length - 3;
  return `any of ${names.slice(0, 3).join(', ')}${more > 0 ? ` (and ${more} more)` : ''}`;
}

const suggestions = new Map<string, string | undefined>();

/**
 * A sentence naming the Microsoft time zone meant by a zone written another way, or undefined when the
 * text is none of those ways. Remembered per text: a file may have the same wrong zone in every row.
 */
export function suggestTimeZone(text: string): string | undefined {
  const trimmed = text.trim();
  if (suggestions.has(trimmed)) return suggestions.get(trimmed);
  const suggestion = suggest(trimmed);
  if (suggestions.size >= 1000) suggestions.clear();
  suggestions.set(trimmed, suggestion);
  return suggestion;
}

function suggest(text: string): string | undefined {
  const abbreviation = abbreviations[text.toUpperCase()];
  if (abbreviation) {
    const { offset, names } = abbreviation;
    return `${text.toUpperCase()} is a fixed UTC offset: write ${offset}, or ${oneOf(names)} to follow daylight saving time.`;
  }
  const windows = windowsByLower.get(text.toLowerCase());
  if (windows) return viaIana(`It is a Windows time zone name (${windows.iana})`, windows.iana);
  // The display name without its "(UTC-05:00) " prefix, squashed the way Microsoft's names are.
  const squashed = text
    .replace(/^\(\s*(?:UTC|GMT)[^)]*\)\s*/i, '')
    .replace(/[^A-Za-z0-9]/g, '')
    .toLowerCase();
  const display = msadsByLowerName(squashed);
  if (display) return `Write it as Microsoft's time zone name: ${display}.`;
  if (text.includes('/') && canonicalIana(text) !== undefined)
    return viaIana('It is an IANA time zone name', text);
  return undefined;
}

function viaIana(what: string, iana: string): string {
  const { names, sameZone } = msadsZonesForIana(iana);
  if (names.length === 0)
    return `${what}, and no Microsoft time zone keeps the same clock; write its UTC offset instead (an offset does not follow daylight saving time).`;
  return `${what}; write Microsoft's name for ${sameZone ? 'that zone' : 'a zone with the same clock'}: ${oneOf(names)}.`;
}
