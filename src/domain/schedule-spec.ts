import { Cron } from 'croner';
import { IANAZone } from 'luxon';

/**
 * When a scheduled import runs: `hourly`, `daily HH:MM`, `weekly DAY HH:MM` or `cron "EXPR"`, read in
 * the schedule's IANA time zone (UTC unless given). Each is a cron pattern for croner, which computes
 * the next run in that zone. Daylight saving time, by croner's rules (tested with fixed instants): a
 * local time the clocks skip (02:30 on the spring-forward night in New York) runs once, at the first
 * minute after the gap (03:00); a local time that happens twice (01:30 on the fall-back night) runs
 * once, at the first of the two.
 */
export interface ScheduleSpec {
  /** The spec as written back to users, normalised: "daily 02:30", "weekly mon 08:00", `cron "…"`. */
  text: string;
  /** The cron pattern (minute hour day-of-month month day-of-week, or with seconds first). */
  pattern: string;
}

export type SpecResult = { ok: true; value: ScheduleSpec } | { ok: false; message: string };

const days = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

const specHelp =
  'Write hourly, daily HH:MM (e.g. daily 06:00), weekly DAY HH:MM (e.g. weekly mon 08:00) or cron "EXPR" (e.g. cron "0 */4 * * *").';

/** Read a schedule spec; the message of a bad one says what is wrong and what is accepted. */
export function parseScheduleSpec(input: string): SpecResult {
  const text = input.trim().replace(/\s+/g, ' ');
  const lower = text.toLowerCase();
  if (lower === 'hourly') return { ok: true, value: { text: 'hourly', pattern: '0 * * * *' } };
  const daily = /^daily (\d{1,2}):(\d{2})$/.exec(lower);
  if (daily) {
    const time = clock(daily[1]!, daily[2]!);
    if (typeof time === 'string') return { ok: false, message: time };
    return {
      ok: true,
      value: { text: `daily ${time.label}`, pattern: `${time.minute} ${time.hour} * * *` },
    };
  }
  const weekly = /^weekly ([a-z]+) (\d{1,2}):(\d{2})$/.exec(lower);
  if (weekly) {
    const day = days.findIndex((d) => weekly[1]!.startsWith(d) && weekdayNames[d].startsWith(weekly[1]!));
    if (day === -1)
      return {
        ok: false,
        message: `"${weekly[1]}" is not a day of the week: write mon, tue, wed, thu, fri, sat or sun (or the whole name).`,
      };
    const time = clock(weekly[2]!, weekly[3]!);
    if (typeof time === 'string') return { ok: false, message: time };
    return {
      ok: true,
      value: {
        text: `weekly ${days[day]} ${time.label}`,
        pattern: `${time.minute} ${time.hour} * * ${day}`,
      },
    };
  }
  const cron = /^cron (?:"([^"]*)"|'([^']*)'|(.+))$/i.exec(text);
  if (cron) {
    const expr = (cron[1] ?? cron[2] ?? cron[3] ?? '').trim();
    const fields = expr.split(' ').filter(Boolean);
    if (fields.length !== 5 && fields.length !== 6)
      return {
        ok: false,
        message: `cron "${expr}" has ${fields.length} fields; give 5 (minute hour day-of-month month day-of-week) or 6 (seconds first), e.g. cron "30 6 * * 1-5".`,
      };
    try {
      // Paused: a pattern is only read here, nothing is started.
      new Cron(expr, { paused: true });
    } catch (err) {
      return { ok: false, message: `cron "${expr}" cannot be read: ${(err as Error).message}` };
    }
    return { ok: true, value: { text: `cron "${expr}"`, pattern: expr } };
  }
  return { ok: false, message: `Unknown schedule "${text}". ${specHelp}` };
}

const weekdayNames: Record<(typeof days)[number], string> = {
  sun: 'sunday',
  mon: 'monday',
  tue: 'tuesday',
  wed: 'wednesday',
  thu: 'thursday',
  fri: 'friday',
  sat: 'saturday',
};

function clock(h: string, m: string): { hour: number; minute: number; label: string } | string {
  const hour = Number(h);
  const minute = Number(m);
  if (hour > 23 || minute > 59)
    return `${h}:${m} is not a time of day: write HH:MM from 00:00 to 23:59 (24-hour clock).`;
  return { hour, minute, label: `${String(hour).padStart(2, '0')}:${m}` };
}

/** Whether `zone` is an IANA time zone name ("Europe/Berlin", "UTC"); the message says what to write if not. */
export function checkScheduleZone(zone: string): string | undefined {
  if (IANAZone.isValidZone(zone)) return undefined;
  return `"${zone}" is not an IANA time zone: write one like UTC, Europe/Berlin or America/New_York (closeloop timezones lists them).`;
}

/**
 * The first run strictly after `after`, in `zone`. Several missed slots give one next run: the caller
 * passes the present, not the missed due time, so a service that was down runs once when it is back.
 */
export function nextRunAfter(spec: ScheduleSpec, zone: string, after: Date): Date {
  const next = new Cron(spec.pattern, { timezone: zone, paused: true }).nextRun(after);
  // A pattern that never matches again (cron "0 0 30 2 *", the 30th of February) is refused at add.
  if (!next) throw new RangeError(`${spec.text} never runs again after ${after.toISOString()}`);
  return next;
}

/** Whether `spec` runs at least once more (a cron pattern for a day that never comes does not). */
export function runsAgain(spec: ScheduleSpec, zone: string, after: Date): boolean {
  return new Cron(spec.pattern, { timezone: zone, paused: true }).nextRun(after) !== null;
}

/** A failing source is tried again after 1, 2, 4 … minutes, at most an hour apart. */
export const retryBaseMs = 60_000;
export const retryCapMs = 60 * 60_000;

/**
 * When to try a source again after its `failures`-th failure in a row: exponential backoff from `now`,
 * but never later than the schedule's next regular run (a daily schedule that fails is tried again
 * within minutes, an hourly one at its next hour at the latest).
 */
export function retryAt(failures: number, now: Date, nextRegular: Date): Date {
  const delay = Math.min(retryCapMs, retryBaseMs * 2 ** Math.max(0, Math.min(failures - 1, 20)));
  const retry = new Date(now.getTime() + delay);
  return retry < nextRegular ? retry : nextRegular;
}
