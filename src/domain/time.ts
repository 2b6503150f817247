import { quote } from './quote.ts';
import { type FieldResult, fail, ok } from './result.ts';
import { acceptedTimeZones, parseTimeZoneSpec, type TimeZoneSpec, unknownZoneMessage } from './timezones.ts';
import { pad2 } from './utc.ts';
import { resolveNamed } from './zone-offsets.ts';

/*
 * Conversion and adjustment times, as Microsoft's offline conversion import accepts them (DESIGN.md,
 * "Accepted time formats"; rows may mix them), turned into the UTC instant Microsoft's API takes.
 *
 * Speed: an upload has up to 100,000 rows, so the formats are read with hand-written regexes and the
 * instant is computed with Date.UTC. Named zones look their UTC offset up in a per-zone cache of
 * whole UTC hours (zone-offsets.ts); luxon (Intl, about 10 µs a call) is only asked twice per zone
 * and hour, and again for each time inside an hour that contains a transition. Measured on Node 22
 * (2 shared cores), 100,000 times spread over 90 days, fresh process, cold pass / best warm pass, per
 * second: offsets 350,000–590,000 / 820,000–1,240,000; named zones 240,000–300,000 / 540,000–790,000.
 */

const minuteMs = 60_000;

const examples = 'write it like 06/01/2017 1:00:00 PM or 2017-06-01 13:00:00';
const zoneHint = `optionally followed by ${acceptedTimeZones}`;

// yyyy-MM-dd HH:mm:ss and yyyy-MM-ddTHH:mm:ss; single digits and fractional seconds (dropped, with a
// note) tolerated.
const isoPrefix = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt]|\s+)(\d{1,2}):(\d{2}):(\d{2})([.,]\d+)?/;
// MM/dd/yyyy hh:mm:ss tt and MM/dd/yyyy HH:mm:ss (the AM/PM is read from what follows).
const usPrefix = /^(\d{1,2})\/(\d{1,2})\/(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})(\.\d+)?/;
// MMM dd, yyyy hh:mm:ss tt ("Jun 01, 2017 1:00:00 PM"); full English month names tolerated.
const monthNamePrefix = /^([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4}),?\s+(\d{1,2}):(\d{2}):(\d{2})/;
// What may follow the clock time: AM/PM (not the start of a zone name such as AmsterdamBerlin…).
const meridiemPrefix = /^\s*([AaPp][Mm])(?![A-Za-z0-9])/;

// biome-ignore format: one line reads better than twelve
const monthNames = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** English month names, full or abbreviated to three letters (and "Sept"), lower case → 1–12. */
const monthNumbers = new Map<string, number>([['sept', 9]]);
monthNames.forEach((name, i) => {
  monthNumbers.set(name.toLowerCase(), i + 1);
  monthNumbers.set(name.slice(0, 3).toLowerCase(), i + 1);
});

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** The fraction of a second as written (".5"), when it is not zero; it is dropped, with a note. */
  fraction?: string;
}

/**
 * Microsoft's formats have whole seconds and a conversion is identified to the second, so a fraction
 * is dropped, never rounded (rounding 59.5 would move the conversion into the next minute, or day). A
 * zero fraction (".000", what JavaScript's toISOString writes) changes nothing and is not worth a note.
 */
function fractionOf(text: string | undefined): string | undefined {
  return text && /[1-9]/.test(text) ? text.replace(',', '.') : undefined;
}

function droppedFractionNote(text: string, wall: WallTime): string {
  return `${quote(text)} has a fraction of a second (${wall.fraction}), which was dropped: Microsoft takes whole seconds, so ${pad2(wall.hour)}:${pad2(wall.minute)}:${pad2(wall.second)} is used (two conversions in the same second are one).`;
}

/** The result with the fraction note, if a fraction was dropped. */
function withFractionNote(result: FieldResult<Date>, text: string, wall: WallTime): FieldResult<Date> {
  if (!result.ok || wall.fraction === undefined) return result;
  return ok(result.value, [...(result.notes ?? []), droppedFractionNote(text, wall)]);
}

/**
 * Reads a Conversion Time (or Adjustment Time) cell. The zone written in the cell wins, then
 * `fallbackZone` (the file's `Parameters:TimeZone=`), then UTC. Returns the UTC instant in whole seconds.
 * Messages never name the row or column; the caller adds those.
 */
export function parseConversionTime(text: string, fallbackZone: TimeZoneSpec | undefined): FieldResult<Date> {
  const trimmed = text.trim();
  if (trimmed === '') {
    return fail('MISSING_CONVERSION_TIME', `The time is empty; enter when it happened, ${examples}.`);
  }

  const read = readWallTime(trimmed);
  if (typeof read === 'string') return fail('INVALID_TIME_FORMAT', read);
  const { wall, slashes } = read;

  let rest = trimmed.slice(read.length);
  let meridiem: string | undefined;
  const mer = meridiemPrefix.exec(rest);
  if (mer) {
    meridiem = mer[1]!.toUpperCase();
    rest = rest.slice(mer[0].length);
  }

  let cellZone: TimeZoneSpec | undefined;
  if (rest !== '') {
    // A zone follows directly (+0500, -05:00, Z) or after a space (a name); anything else glued to the
    // seconds ("13:00:000") is a typo, not a zone.
    if (!/^[\s+\-Zz]/.test(rest)) return fail('INVALID_TIME_FORMAT', unreadableTimeMessage(trimmed));
    const zone = parseTimeZoneSpec(rest);
    if (!zone.ok) return fail('INVALID_TIME_ZONE', unknownZoneMessage(rest.trim(), trimmed));
    cellZone = zone.value;
  }

  if (meridiem !== undefined) {
    if (wall.hour < 1 || wall.hour > 12) {
      return fail(
        'INVALID_DATE',
        `${quote(trimmed)} has the hour ${wall.hour} with ${meridiem}; with AM/PM the hour runs from 1 to 12 ` +
          `(write ${wall.hour}:${pad2(wall.minute)}:${pad2(wall.second)} without ${meridiem} for a 24-hour time).`,
      );
    }
    if (meridiem === 'AM' && wall.hour === 12) wall.hour = 0;
    else if (meridiem === 'PM' && wall.hour !== 12) wall.hour += 12;
  }

  const invalid = checkWallTime(wall, trimmed, slashes);
  if (invalid) return fail('INVALID_DATE', invalid);

  const wallMs = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  const zone = cellZone ?? fallbackZone ?? utc;
  switch (zone.kind) {
    case 'utc':
      return withFractionNote(ok(new Date(wallMs)), trimmed, wall);
    case 'offset':
      return withFractionNote(ok(new Date(wallMs - zone.minutes * minuteMs)), trimmed, wall);
    case 'named':
      return withFractionNote(resolveNamed(wallMs, zone, trimmed), trimmed, wall);
  }
}

const utc: TimeZoneSpec = { kind: 'utc' };

/** A wall time from the digit groups of a numeric format (ISO or US order, already put in order). */
function numericWall(...[y, mo, d, h, mi, s, f]: (string | undefined)[]): WallTime {
  return { year: +y!, month: +mo!, day: +d!, hour: +h!, minute: +mi!, second: +s!, fraction: fractionOf(f) };
}

/** The date and clock time at the start of the cell, or the INVALID_TIME_FORMAT message. */
function readWallTime(text: string): { wall: WallTime; length: number; slashes: boolean } | string {
  const iso = isoPrefix.exec(text);
  if (iso) {
    const [all, y, mo, d, h, mi, s, f] = iso;
    return { wall: numericWall(y, mo, d, h, mi, s, f), length: all!.length, slashes: false };
  }
  const us = usPrefix.exec(text);
  if (us) {
    const [all, mo, d, y, h, mi, s, f] = us;
    return { wall: numericWall(y, mo, d, h, mi, s, f), length: all!.length, slashes: true };
  }
  const named = monthNamePrefix.exec(text);
  if (named) {
    const [all, name, d, y, h, mi, s] = named;
    const month = monthNumbers.get(name!.toLowerCase());
    if (month === undefined) {
      return `${quote(text)} starts with ${quote(name!)}, which is not an English month name; ${examples}.`;
    }
    return {
      wall: { year: +y!, month, day: +d!, hour: +h!, minute: +mi!, second: +s! },
      length: all!.length,
      slashes: false,
    };
  }
  return unreadableTimeMessage(text);
}

function checkWallTime(w: WallTime, text: string, slashes: boolean): string | undefined {
  // Years before 1900 are typos, and Date.UTC would read 0099 as 1999.
  if (w.year < 1900)
    return `${quote(text)} has the year ${pad(w.year, 4)}; write the full year, such as 2017.`;
  if (w.month < 1 || w.month > 12) {
    // 25/06/2017 is day-first; say how to write it month first.
    const swapped =
      w.day >= 1 && w.day <= 12 && w.month <= daysInMonth(w.year, w.day)
        ? ` If you meant ${w.month} ${monthNames[w.day - 1]} ${w.year}, write ${pad2(w.day)}/${pad2(w.month)}/${w.year}.`
        : '';
    const order = slashes ? ` Dates with slashes are read month first (MM/dd/yyyy).${swapped}` : '';
    return `${quote(text)} has the month ${w.month}, and months run from 1 to 12.${order}`;
  }
  const days = daysInMonth(w.year, w.month);
  if (w.day < 1 || w.day > days) {
    return `${quote(text)} names a day that does not exist: ${monthNames[w.month - 1]} ${w.year} has ${days} days.`;
  }
  if (w.hour > 23 || w.minute > 59 || w.second > 59) {
    return `${quote(text)} has the clock time ${pad2(w.hour)}:${pad2(w.minute)}:${pad2(w.second)}, which does not exist; hours run from 00 to 23, minutes and seconds from 00 to 59.`;
  }
  return undefined;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** INVALID_TIME_FORMAT message, with a hint for the near misses people actually send. */
function unreadableTimeMessage(text: string): string {
  const q = quote(text);
  if (/^\d{5}(?:\.\d+)?$/.test(text)) {
    return `${q} looks like an Excel date serial number; format the column as a date and time before saving, or ${examples}.`;
  }
  if (/^(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}\/\d{1,2}\/\d{4})$/.test(text)) {
    return `${q} has a date but no time of day; add it, for example ${text} 00:00:00.`;
  }
  if (/^(?:\d{4}-\d{1,2}-\d{1,2}[Tt ]\s*|\d{1,2}\/\d{1,2}\/\d{4}\s+)\d{1,2}:\d{2}(?!:)/.test(text)) {
    const fixed = text.replace(/(\d:\d{2})(?!:)/, '$1:00');
    return `${q} has no seconds; add them: ${quote(fixed, 60)}.`;
  }
  if (/^\d{1,2}\.\d{1,2}\.\d{4}/.test(text)) {
    return `${q} uses dots between day, month and year; ${examples} (month first).`;
  }
  return `${q} is not a date and time closeloop can read; ${examples}, ${zoneHint}.`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

// ---- API times and output --------------------------------------------------------------------------

// RFC 3339 / ISO 8601 with seconds and a required Z or ±hh[:mm] offset; fractions are dropped (noted).
const apiPattern =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})([.,]\d+)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;
const apiExample = '2026-01-02T03:04:05Z or 2026-01-02T03:04:05+01:00';

/** Reads a time from the JSON API: ISO 8601 with an explicit offset or Z, nothing else. */
export function parseApiTime(text: string): FieldResult<Date> {
  const trimmed = text.trim();
  if (trimmed === '')
    return fail('MISSING_CONVERSION_TIME', `The time is empty; send an ISO 8601 time such as ${apiExample}.`);
  const m = apiPattern.exec(trimmed);
  if (!m) {
    return fail(
      'INVALID_TIME_FORMAT',
      `${quote(trimmed)} is not an ISO 8601 time with an offset; send it like ${apiExample}.`,
    );
  }
  if (m[8] === undefined && m[9] === undefined) {
    return fail(
      'INVALID_TIME_FORMAT',
      `${quote(trimmed)} has no UTC offset, so the instant is unknown; add Z for UTC or an offset, e.g. ${trimmed}Z or ${trimmed}+01:00.`,
    );
  }
  const wall: WallTime = {
    year: +m[1]!,
    month: +m[2]!,
    day: +m[3]!,
    hour: +m[4]!,
    minute: +m[5]!,
    second: +m[6]!,
    fraction: fractionOf(m[7]),
  };
  const invalid = checkWallTime(wall, trimmed, false);
  if (invalid) return fail('INVALID_DATE', invalid);
  let offset = 0;
  if (m[9] !== undefined) {
    const hours = +m[10]!;
    const minutes = m[11] === undefined ? 0 : +m[11];
    if (minutes > 59 || hours * 60 + minutes > 14 * 60) {
      return fail(
        'INVALID_TIME_ZONE',
        `The offset in ${quote(trimmed)} is not a real UTC offset; use -12:00 to +14:00 or Z.`,
      );
    }
    offset = (m[9] === '-' ? -1 : 1) * (hours * 60 + minutes);
  }
  const wallMs = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  return withFractionNote(ok(new Date(wallMs - offset * minuteMs)), trimmed, wall);
}
