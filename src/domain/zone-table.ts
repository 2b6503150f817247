import { IANAZone } from 'luxon';
import { msadsTimeZoneAliases, msadsTimeZoneNames, msadsTimeZones } from './timezones.ts';
import { pad2 } from './utc.ts';

export interface MsadsTimeZoneRow {
  /** Microsoft's name, as a time or a Parameters row writes it. */
  name: string;
  /** The IANA zone closeloop reads it as (reference/msads-api.md §7). */
  iana: string;
  /** The UTC offset at `now`, in minutes (daylight saving time included). */
  offsetMinutes: number;
  /** The same as text: "UTC-04:00". */
  offset: string;
  /** Other spellings Microsoft uses for the zone (its Reporting API's). */
  aliases: string[];
}

/** Microsoft's time zones with their UTC offsets at `now`, west to east, then by name. */
export function msadsTimeZoneTable(now: Date): MsadsTimeZoneRow[] {
  return msadsTimeZoneNames
    .map((name) => {
      const iana = msadsTimeZones[name]!;
      const offsetMinutes = IANAZone.create(iana).offset(now.getTime());
      return {
        name,
        iana,
        offsetMinutes,
        offset: formatUtcOffset(offsetMinutes),
        aliases: Object.entries(msadsTimeZoneAliases)
          .filter(([, canonical]) => canonical === name)
          .map(([alias]) => alias),
      };
    })
    .sort((a, b) => a.offsetMinutes - b.offsetMinutes || a.name.localeCompare(b.name));
}

/** -240 → "UTC-04:00", 330 → "UTC+05:30", 0 → "UTC+00:00". */
export function formatUtcOffset(minutes: number): string {
  const abs = Math.abs(minutes);
  return `UTC${minutes < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}
