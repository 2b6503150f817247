import { DateTime, IANAZone } from 'luxon';
import { quote } from './quote.ts';
import { type FieldResult, fail, ok } from './result.ts';
import type { TimeZoneSpec } from './timezones.ts';
import { formatUtc, pad2 } from './utc.ts';

/*
 * Named zones (Parameters:TimeZone=EasternTimeUSCanada, or a name after the time): the UTC instant of a
 * wall-clock time, found through a per-zone cache of whole UTC hours so that luxon is asked about twice
 * per zone and hour (time.ts has the measurements), and the messages for times that fall in a
 * daylight-saving gap or overlap.
 */

const minuteMs = 60_000;
const hourMs = 3_600_000;
const dayMs = 86_400_000;

interface ZoneCache {
  zone: IANAZone;
  /** UTC hour number → offset in minutes for the whole hour, or NaN when a transition falls inside it. */
  hours: Map<number, number>;
}

const zoneCaches = new Map<string, ZoneCache>();
// Bounds memory in a long-running server: 200,000 hours is 22 years of one zone (about 10 MB).
const maxCachedHours = 200_000;

function zoneCache(iana: string): ZoneCache {
  let cache = zoneCaches.get(iana);
  if (!cache) {
    cache = { zone: IANAZone.create(iana), hours: new Map() };
    zoneCaches.set(iana, cache);
  }
  return cache;
}

/** The zone's UTC offset in minutes at the instant `ms`. */
function offsetAt(cache: ZoneCache, ms: number): number {
  const hour = Math.floor(ms / hourMs);
  let offset = cache.hours.get(hour);
  if (offset === undefined) {
    // If the offset at the first and the last millisecond of the hour agree, it holds for the whole hour
    // (no zone has had two transitions within one hour).
    const start = cache.zone.offset(hour * hourMs);
    const end = cache.zone.offset(hour * hourMs + hourMs - 1);
    offset = start === end ? start : Number.NaN;
    if (cache.hours.size >= maxCachedHours) cache.hours.clear();
    cache.hours.set(hour, offset);
  }
  return Number.isNaN(offset) ? cache.zone.offset(ms) : offset;
}

/**
 * Finds the instant(s) whose local time in the zone is `wallMs` (the wall clock read as if it were UTC).
 * As Temporal does, it assumes at most one transition within a day either side: the offsets a day before
 * and a day after are the only candidates, and a candidate is real if the zone has that offset then.
 */
export function resolveNamed(
  wallMs: number,
  zone: TimeZoneSpec & { kind: 'named' },
  text: string,
): FieldResult<Date> {
  const cache = zoneCache(zone.iana);
  if (!cache.zone.isValid) {
    // Only reachable with a hand-built spec; parseTimeZoneSpec returns tested zones.
    return fail(
      'INVALID_TIME_ZONE',
      `The time zone ${zone.name} (${zone.iana}) is unknown to this server's time zone data.`,
    );
  }
  const before = offsetAt(cache, wallMs - dayMs);
  const after = offsetAt(cache, wallMs + dayMs);
  const early = wallMs - before * minuteMs;
  const earlyOk = offsetAt(cache, early) === before;
  if (before === after) {
    if (earlyOk) return ok(new Date(early));
  } else {
    const late = wallMs - after * minuteMs;
    const lateOk = offsetAt(cache, late) === after;
    if (earlyOk && lateOk) {
      // Fall back: the wall time happened twice; DESIGN.md says take the earlier instant and say so.
      const first = Math.min(early, late);
      return ok(new Date(first), [overlapNote(cache, wallMs, before, after, zone, text, first)]);
    }
    if (earlyOk) return ok(new Date(early));
    if (lateOk) return ok(new Date(late));
  }
  return fail('NONEXISTENT_LOCAL_TIME', gapMessage(cache, wallMs, before, after, zone, text));
}

/** The instant (to the minute) at which the zone's offset changes from `before`, within a day of the wall time. */
function transitionNear(cache: ZoneCache, wallMs: number, before: number): number {
  let lo = Math.floor((wallMs - dayMs) / minuteMs);
  let hi = Math.floor((wallMs + dayMs) / minuteMs);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(cache, mid * minuteMs) === before) lo = mid;
    else hi = mid;
  }
  return hi * minuteMs;
}

function dstLabel(iana: string, instant: number, starts: boolean): string {
  const inDst = DateTime.fromMillis(instant, { zone: iana }).isInDST;
  if (starts && inDst) return 'daylight saving time starts';
  if (!starts && !inDst) return 'daylight saving time ends';
  return "the zone's UTC offset changes";
}

function gapMessage(
  cache: ZoneCache,
  wallMs: number,
  before: number,
  after: number,
  zone: { name: string; iana: string },
  text: string,
): string {
  const at = transitionNear(cache, wallMs, before);
  const from = clock(at + before * minuteMs);
  const to = clock(at + after * minuteMs);
  const date = new Date(at + after * minuteMs).toISOString().slice(0, 10);
  return (
    `${quote(text)} never happened in ${zone.name}: on ${date} the clocks jump from ${from} to ${to} ` +
    `(${dstLabel(zone.iana, at, true)}). Check the time; if the system that wrote it ignores daylight saving ` +
    `time, write its UTC offset instead, e.g. ${isoWall(wallMs)}${formatOffset(before)}.`
  );
}

function overlapNote(
  cache: ZoneCache,
  wallMs: number,
  before: number,
  after: number,
  zone: { name: string; iana: string },
  text: string,
  used: number,
): string {
  const at = transitionNear(cache, wallMs, before);
  const from = clock(at + before * minuteMs);
  const to = clock(at + after * minuteMs);
  return (
    `${quote(text)} is ambiguous in ${zone.name} (${dstLabel(zone.iana, at, false)}: the clocks go back from ` +
    `${from} to ${to}); the earlier instant ${formatUtc(new Date(used))} was used. For the later one, write ` +
    `the time with its offset: ${isoWall(wallMs)}${formatOffset(after)}.`
  );
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

function isoWall(wallMs: number): string {
  return new Date(wallMs).toISOString().slice(0, 19).replace('T', ' ');
}

function formatOffset(minutes: number): string {
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`;
}
