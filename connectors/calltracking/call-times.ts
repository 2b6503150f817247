/**
 * Call start times as providers write them: epoch seconds or milliseconds (by magnitude), UTC strings, and
 * wall times in a zone (luxon), with the project's rules for clocks that spring forward or fall back.
 */
import { DateTime } from 'luxon';
import { CallInputError, text } from './parse.ts';

/** Milliseconds since the epoch from seconds or milliseconds, told apart by magnitude (> 1e12 ⇒ ms). */
export function epoch(value: number): Date {
  return new Date(value > 1e12 ? value : value * 1000);
}

/** Drops the milliseconds: the ledger keeps conversion times to the second (Microsoft's format). */
function toSecond(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

const wallTime =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?$/i;

/**
 * A start time: epoch seconds or milliseconds (by magnitude), or `YYYY-MM-DD HH:MM[:SS]` / ISO with or without
 * an offset. An offset-less string is wall time in `zone` ('UTC' where the provider documents UTC, else the
 * source's time zone); a wall time that does not exist there (spring forward) is an error.
 */
export function startTime(raw: unknown, field: string, zone: string): Date {
  const value = text(raw, field);
  if (value === null) throw new CallInputError(`field "${field}": missing the call's start time`);
  if (/^\d{9,14}(\.\d+)?$/.test(value)) return toSecond(epoch(Number(value)));
  const match = wallTime.exec(value);
  if (!match) {
    throw new CallInputError(
      `field "${field}": expected epoch seconds or milliseconds, or a time like 2024-05-01 13:45:10 (ISO 8601, optional offset), got "${value}"`,
    );
  }
  const [, year, month, day, hour, minute, second, offset] = match;
  const parts = {
    year: Number(year),
    month: Number(month),
    day: Number(day),
    hour: Number(hour),
    minute: Number(minute),
    second: Number(second ?? 0),
  };
  const explicit =
    offset === undefined
      ? null
      : /^(z|utc|gmt)$/i.test(offset)
        ? 'UTC'
        : `UTC${offset.slice(0, 3)}:${offset.slice(-2)}`;
  const time = DateTime.fromObject(parts, { zone: explicit ?? zone });
  if (!time.isValid) {
    if (time.invalidReason === 'unsupported zone') {
      throw new CallInputError(
        `time zone "${explicit ?? zone}" is not an IANA zone name (e.g. Europe/London)`,
      );
    }
    throw new CallInputError(
      `field "${field}": "${value}" is not a valid date and time (${time.invalidExplanation})`,
    );
  }
  if (time.hour !== parts.hour || time.minute !== parts.minute) {
    throw new CallInputError(
      `field "${field}": ${value} does not exist in ${zone} (the clocks jump forward then); check the source's time zone`,
    );
  }
  return toSecond(earliestReading(time, parts).toJSDate());
}

/**
 * A wall time the clocks pass twice (fall back) has two instants; like every other source, take the earlier
 * (DESIGN.md, time zone precedence). Luxon picks one of them: try the zone's offsets either side of it.
 */
function earliestReading(time: DateTime, parts: { [unit: string]: number }): DateTime {
  const wallAsUtc = DateTime.fromObject(parts, { zone: 'UTC' }).toMillis();
  let earliest = time;
  for (const probe of [time.minus({ hours: 3 }), time.plus({ hours: 3 })]) {
    const instant = DateTime.fromMillis(wallAsUtc - probe.offset * 60_000, { zone: time.zone });
    if (instant.offset === probe.offset && instant < earliest) earliest = instant;
  }
  return earliest;
}

/** `YYYY-MM-DD HH:MM:SS` of an instant in a zone (fixtures build the strings providers send). */
export function wallClock(date: Date, zone: string): string {
  return DateTime.fromJSDate(date, { zone }).toFormat('yyyy-MM-dd HH:mm:ss');
}
