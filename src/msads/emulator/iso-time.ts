/*
 * How Microsoft's deserializer reads an xs:dateTime in JSON: ISO 8601, with or without seconds, fraction
 * and offset (a missing offset is read as UTC, the only zone the API takes: msads-api.md §1). Anything
 * else ("06/01/2017 1:00 PM", "2026-13-45T00:00:00Z") fails deserialization of the whole request.
 */

const isoDateTime =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

const daysInMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Milliseconds since the epoch, or undefined when the text is not an ISO 8601 date-time that exists. */
export function parseIsoInstant(text: string): number | undefined {
  const m = isoDateTime.exec(text);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4] ?? 0);
  const minute = Number(m[5] ?? 0);
  const second = Number(m[6] ?? 0);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (month < 1 || month > 12 || day < 1) return undefined;
  if (day > daysInMonth[month - 1]! || (month === 2 && day === 29 && !leap)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const millis = Math.floor(Number(`0.${m[7] ?? '0'}`) * 1000);
  let ms = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC maps years 0-99 to 1900-1999; set the year again for them.
  if (year < 100) ms = new Date(ms).setUTCFullYear(year);
  const offset = m[8];
  if (offset && offset !== 'Z' && offset !== 'z') {
    const sign = offset[0] === '-' ? -1 : 1;
    const digits = offset.slice(1).replace(':', '');
    const offsetHours = Number(digits.slice(0, 2));
    const offsetMinutes = Number(digits.slice(2) || 0);
    if (offsetHours > 14 || offsetMinutes > 59) return undefined;
    ms -= sign * (offsetHours * 60 + offsetMinutes) * 60_000;
  }
  return ms;
}
