import { describe, expect, it } from 'vitest';
import {
  checkScheduleZone,
  nextRunAfter,
  parseScheduleSpec,
  retryAt,
  type ScheduleSpec,
} from '../../src/domain/schedule-spec.ts';

function spec(text: string): ScheduleSpec {
  const parsed = parseScheduleSpec(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
}

/** The next `n` runs after `from`. */
function runs(text: string, zone: string, from: string, n: number): string[] {
  const out: string[] = [];
  let t = new Date(from);
  for (let i = 0; i < n; i++) {
    t = nextRunAfter(spec(text), zone, t);
    out.push(t.toISOString());
  }
  return out;
}

describe('schedule specs', () => {
  it('reads hourly, daily, weekly and cron, normalised', () => {
    expect(spec('hourly')).toEqual({ text: 'hourly', pattern: '0 * * * *' });
    expect(spec(' Daily  6:05 ')).toEqual({ text: 'daily 06:05', pattern: '5 6 * * *' });
    expect(spec('weekly Monday 08:00')).toEqual({ text: 'weekly mon 08:00', pattern: '0 8 * * 1' });
    expect(spec('weekly sun 23:59').pattern).toBe('59 23 * * 0');
    expect(spec('cron "*/15 6-18 * * 1-5"')).toEqual({
      text: 'cron "*/15 6-18 * * 1-5"',
      pattern: '*/15 6-18 * * 1-5',
    });
    expect(spec('cron 0 4 * * *').pattern).toBe('0 4 * * *');
  });

  it('says what is wrong with a bad spec', () => {
    const bad = (text: string) => {
      const r = parseScheduleSpec(text);
      return r.ok ? '' : r.message;
    };
    expect(bad('daily 25:00')).toMatch(/not a time of day/);
    expect(bad('weekly funday 08:00')).toMatch(/not a day of the week/);
    expect(bad('weekly mo 08:00')).toMatch(/not a day of the week/);
    expect(bad('cron "* * *"')).toMatch(/has 3 fields; give 5/);
    expect(bad('cron "61 * * * *"')).toMatch(/cannot be read/);
    expect(bad('every tuesday')).toMatch(/Unknown schedule.*hourly, daily HH:MM/);
  });

  it('computes the next run in the schedule zone', () => {
    expect(runs('hourly', 'UTC', '2026-06-01T10:00:00Z', 2)).toEqual([
      '2026-06-01T11:00:00.000Z',
      '2026-06-01T12:00:00.000Z',
    ]);
    // 06:00 in Berlin in summer is 04:00 UTC.
    expect(runs('daily 06:00', 'Europe/Berlin', '2026-06-01T05:00:00Z', 2)).toEqual([
      '2026-06-02T04:00:00.000Z',
      '2026-06-03T04:00:00.000Z',
    ]);
    // 2026-06-01 is a Monday.
    expect(runs('weekly mon 08:00', 'UTC', '2026-06-01T08:00:00Z', 1)).toEqual(['2026-06-08T08:00:00.000Z']);
    expect(runs('cron "30 6 * * 1-5"', 'UTC', '2026-06-05T07:00:00Z', 1)).toEqual([
      '2026-06-08T06:30:00.000Z',
    ]);
  });

  it('runs daily 02:30 once on the night New York skips 02:30 (spring forward)', () => {
    // 2026-03-08: clocks go from 02:00 EST to 03:00 EDT; 02:30 does not exist that day.
    expect(runs('daily 02:30', 'America/New_York', '2026-03-07T12:00:00Z', 3)).toEqual([
      '2026-03-08T07:00:00.000Z', // 03:00 EDT, the first minute after the gap: once
      '2026-03-09T06:30:00.000Z', // 02:30 EDT
      '2026-03-10T06:30:00.000Z',
    ]);
  });

  it('runs daily 01:30 once on the night New York has 01:30 twice (fall back)', () => {
    // 2026-11-01: 01:30 EDT (05:30 UTC) and then 01:30 EST (06:30 UTC); only the first runs.
    expect(runs('daily 01:30', 'America/New_York', '2026-10-31T12:00:00Z', 2)).toEqual([
      '2026-11-01T05:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
    ]);
  });

  it('gives one next run after several missed slots (counted from now)', () => {
    // Down from Monday to Thursday: the next daily run is Friday's, not Tuesday's.
    expect(nextRunAfter(spec('daily 06:00'), 'UTC', new Date('2026-06-04T09:00:00Z')).toISOString()).toBe(
      '2026-06-05T06:00:00.000Z',
    );
  });

  it('checks time zones', () => {
    expect(checkScheduleZone('Europe/Berlin')).toBeUndefined();
    expect(checkScheduleZone('UTC')).toBeUndefined();
    expect(checkScheduleZone('Mars/Olympus')).toMatch(/not an IANA time zone/);
  });

  it('backs off 1, 2, 4 … minutes, capped by the next regular run and by an hour', () => {
    const now = new Date('2026-06-01T10:00:00Z');
    const far = new Date('2026-06-02T10:00:00Z');
    expect(retryAt(1, now, far).toISOString()).toBe('2026-06-01T10:01:00.000Z');
    expect(retryAt(3, now, far).toISOString()).toBe('2026-06-01T10:04:00.000Z');
    expect(retryAt(30, now, far).toISOString()).toBe('2026-06-01T11:00:00.000Z');
    expect(retryAt(3, now, new Date('2026-06-01T10:02:00Z')).toISOString()).toBe('2026-06-01T10:02:00.000Z');
  });
});
