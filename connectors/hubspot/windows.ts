import type { PublicObjectSearchRequest } from '@hubspot/api-client/lib/codegen/crm/deals/index.js';

/**
 * HubSpot's CRM search returns at most 10,000 results per query: asking for the page after the
 * 10,000th answers 400 (hubspot-api-nodejs#132). A sync therefore reads in windows of
 * hs_lastmodifieddate that each stay under the cap, re-windowing at the last modified time seen.
 */
export const searchResultCap = 10_000;

/**
 * Deals changed since a time, oldest first (`range`), or the deals that share one modified time,
 * by id (`ties`): when more than a window's worth of deals share a timestamp, only hs_object_id can
 * tell them apart (estuary/connectors#2100), and HubSpot orders equal timestamps arbitrarily.
 */
export type SearchWindow =
  | { kind: 'range'; since: number; inclusive: boolean }
  | { kind: 'ties'; at: number; afterId: string };

/**
 * Where a sync resumes: deals up to (modifiedMs, afterId) were read; `archivedSince` is the archive
 * time from which deleted deals are still to be reported.
 */
export interface HubspotCursor {
  modifiedMs: number;
  /** '0' when the deals sharing modifiedMs were read in modified order (all of them are read again). */
  afterId: string;
  archivedSince: number | null;
}

const cursorPattern = /^hs1:(\d+):(\d+):(\d*)$/;

export function encodeCursor(cursor: HubspotCursor): string {
  return `hs1:${cursor.modifiedMs}:${cursor.afterId}:${cursor.archivedSince ?? ''}`;
}

/** Null for a cursor this connector did not write (then the sync starts from the beginning). */
export function decodeCursor(text: string): HubspotCursor | null {
  const match = cursorPattern.exec(text);
  if (!match) return null;
  return {
    modifiedMs: Number(match[1]),
    afterId: match[2] as string,
    archivedSince: match[3] ? Number(match[3]) : null,
  };
}

/**
 * The first window of a sync. Search lags behind writes ("may take a few moments"; supaglue#665), so
 * an incremental sync re-reads `overlapMs` before its cursor; src/ de-duplicates what it re-reads.
 */
export function firstWindow(cursor: HubspotCursor | null, overlapMs: number): SearchWindow {
  if (!cursor) return { kind: 'range', since: 0, inclusive: true };
  if (overlapMs === 0) return { kind: 'ties', at: cursor.modifiedMs, afterId: cursor.afterId };
  return { kind: 'range', since: Math.max(0, cursor.modifiedMs - overlapMs), inclusive: true };
}

/**
 * The window after `window` ended: `capped` when the next page would pass the 10,000-result cap,
 * `last` the last deal read in it. Null when the sync has read everything.
 */
export function nextWindow(
  window: SearchWindow,
  capped: boolean,
  last: { modifiedMs: number; id: string } | null,
): SearchWindow | null {
  if (window.kind === 'ties') {
    if (capped && last) return { kind: 'ties', at: window.at, afterId: last.id };
    return { kind: 'range', since: window.at, inclusive: false };
  }
  if (!capped || !last) return null;
  // The deals at last.modifiedMs were read in no particular order: read them all again by id, then
  // go on strictly after that time. Each step moves forward, so >10,000 equal timestamps end too.
  return { kind: 'ties', at: last.modifiedMs, afterId: '0' };
}

/** The cursor after a page whose last deal is `last`, read in `window`. */
export function cursorAfter(
  window: SearchWindow,
  last: { modifiedMs: number; id: string },
  archivedSince: number | null,
): HubspotCursor {
  return {
    modifiedMs: last.modifiedMs,
    afterId: window.kind === 'ties' ? last.id : '0',
    archivedSince,
  };
}

/** The search request of one page of `window`. Filter values are strings (epoch ms for dates). */
export function searchRequest(
  window: SearchWindow,
  after: string | undefined,
  properties: string[],
  limit: number,
): PublicObjectSearchRequest {
  const modified = 'hs_lastmodifieddate';
  const request =
    window.kind === 'range'
      ? {
          filterGroups: [
            {
              filters: [
                {
                  propertyName: modified,
                  operator: window.inclusive ? 'GTE' : 'GT',
                  value: String(window.since),
                },
              ],
            },
          ],
          sorts: [{ propertyName: modified, direction: 'ASCENDING' }],
        }
      : {
          filterGroups: [
            {
              filters: [
                { propertyName: modified, operator: 'EQ', value: String(window.at) },
                { propertyName: 'hs_object_id', operator: 'GT', value: window.afterId },
              ],
            },
          ],
          sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }],
        };
  // The SDK types sorts as strings; HubSpot's documented form is { propertyName, direction }.
  return {
    ...request,
    properties,
    limit,
    ...(after === undefined ? {} : { after }),
  } as unknown as PublicObjectSearchRequest;
}
