import { formatUtc } from '../../domain/utc.ts';
import { suggestTimeZone } from '../../domain/zone-suggestions.ts';
import { type MsadsTimeZoneRow, msadsTimeZoneTable } from '../../domain/zone-table.ts';
import type { Command } from '../command.ts';

export const timezonesCommand: Command = {
  name: 'timezones',
  summary: "List Microsoft's time zone names with their UTC offsets now and their IANA zones.",
  usage: 'closeloop timezones [SEARCH] [--json]',
  options: {
    json: {
      type: 'boolean',
      description: 'print the list as JSON (name, iana, offsetMinutes, offset, aliases)',
    },
  },
  details: `SEARCH keeps the zones whose name or IANA zone contains it ("berlin", "America/"). A zone written
another way (a Windows name such as "Eastern Standard Time", an IANA name, an abbreviation such as EST)
is answered with the Microsoft name to write.

A time takes a zone after it (2026-06-01 13:00:00 EasternTimeUSCanada), or a file takes one for all its
times in its first row (Parameters:TimeZone=EasternTimeUSCanada). Named zones follow daylight saving
time; an offset (-0500) does not.`,
  async run({ values, positionals }) {
    const now = new Date();
    const search = positionals.join(' ').trim();
    // "EST", "Eastern Standard Time", "Europe/Paris": not Microsoft's names, but the zone is known.
    const suggestion = search === '' ? undefined : suggestTimeZone(search);
    if (suggestion && !values.json) {
      console.log(`"${search}" is not a Microsoft time zone name. ${suggestion}`);
      return 0;
    }
    const rows = msadsTimeZoneTable(now).filter((z) => matches(z, search));
    if (values.json) {
      console.log(JSON.stringify(rows, null, 2));
      return rows.length > 0 ? 0 : 1;
    }
    if (rows.length === 0) {
      console.error(
        `No Microsoft time zone name or IANA zone contains "${search}". Run closeloop timezones for the whole list.`,
      );
      return 1;
    }
    const width = Math.max(...rows.map((z) => z.name.length));
    console.log(`${'OFFSET NOW'.padEnd(10)}  ${'NAME'.padEnd(width)}  IANA ZONE`);
    for (const z of rows) console.log(`${z.offset.padEnd(10)}  ${z.name.padEnd(width)}  ${z.iana}`);
    console.log(`\nOffsets at ${formatUtc(now)}; named zones follow daylight saving time.`);
    return 0;
  },
};

/** A search matches a name or IANA zone containing it, ignoring case, spaces and punctuation in names. */
function matches(zone: MsadsTimeZoneRow, search: string): boolean {
  if (search === '') return true;
  const squash = (s: string) => s.toLowerCase().replace(/[^a-z0-9/+-]/g, '');
  const s = squash(search);
  return (
    [zone.name, ...zone.aliases].some((n) => squash(n).includes(s)) ||
    zone.iana.toLowerCase().includes(search.toLowerCase())
  );
}
