import * as http from 'node:http';
import * as https from 'node:https';
import type { LookupFunction } from 'node:net';
import { Client } from '@hubspot/api-client';
import type { SimplePublicObject } from '@hubspot/api-client/lib/codegen/crm/deals/index.js';
import {
  type ConnectionGuard,
  ConnectorError,
  type ConnectorEvents,
  type DealPage,
  type DealRecord,
  type DealSource,
} from '../deals.ts';
import { createReads, jsonGetter } from './reads.ts';
import { dealProperties, modifiedMs, toDealRecord } from './records.ts';
import { createRequester, portalKey, type RequestPolicy } from './requests.ts';
import type { HubspotSecrets, HubspotSettings } from './settings.ts';
import {
  cursorAfter,
  decodeCursor,
  encodeCursor,
  firstWindow,
  type HubspotCursor,
  nextWindow,
  type SearchWindow,
  searchRequest,
  searchResultCap,
} from './windows.ts';

const hubspotApi = 'https://api.hubapi.com';

export interface SourceOptions extends RequestPolicy {
  /** Re-read before the cursor, for search's indexing lag (supaglue#665). @default 300000 */
  overlapMs: number;
  /** Deals per search page: one page is one batch read of its won deals' history. @default 100 */
  pageSize: number;
}

/**
 * The SDK's http(s) agent: every connection resolves through the guard's lookup (only allowed
 * addresses; no DNS rebinding between a check and the connection) and a host written as an IP address
 * is checked before it connects. The SDK sends through node's http with this agent, not through fetch.
 */
export function guardedAgent(basePath: string, guard: ConnectionGuard): http.Agent {
  const options = { keepAlive: true, lookup: guard.lookup as unknown as LookupFunction };
  const agent = new URL(basePath).protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
  const createConnection = agent.createConnection.bind(agent);
  agent.createConnection = (connectOptions, callback) => {
    try {
      guard.checkLiteral(String(connectOptions.host ?? connectOptions.hostname ?? ''));
    } catch (err) {
      callback?.(err as Error, undefined as never);
      return undefined as never;
    }
    return createConnection(connectOptions, callback);
  };
  return agent;
}

export function createHubspotSource(options: {
  settings: HubspotSettings;
  secrets: HubspotSecrets;
  events?: ConnectorEvents;
  policy: SourceOptions;
  guard: ConnectionGuard;
}): DealSource {
  const { settings, secrets, policy, guard } = options;
  const events = options.events ?? {};
  const basePath = (settings.baseUrl ?? hubspotApi).replace(/\/+$/, '');
  // numberOfApiCallRetries 0 and no limiterOptions: pacing and retries are ours (requests.ts).
  const agent = guardedAgent(basePath, guard);
  const client = new Client({
    accessToken: secrets.token,
    basePath,
    numberOfApiCallRetries: 0,
    httpAgent: agent,
  });
  // Bind the APIs now, while this Client's (empty) decorators are the process-wide ones (#416).
  const deals = client.crm.deals;
  const properties = dealProperties(settings);
  const clickProperty = settings.clickIdProperty;
  const request = createRequester({ portalKey: portalKey(basePath, secrets.token), policy, events });
  const { portalFacts, records } = createReads({
    client,
    request,
    settings,
    getJson: jsonGetter(basePath, secrets.token, agent),
  });

  async function* searchPages(start: HubspotCursor | null, signal?: AbortSignal) {
    let window: SearchWindow | null = firstWindow(start, policy.overlapMs);
    // Deals already given at the newest modified time: re-windowing at that time skips them.
    let seenAt = -1;
    let seen = new Set<string>();
    while (window) {
      const current: SearchWindow = window;
      let after: string | undefined;
      let read = 0;
      let capped = false;
      let last: { modifiedMs: number; id: string } | null = null;
      for (;;) {
        const answer = await request(
          'POST /crm/v3/objects/deals/search',
          () => deals.searchApi.doSearch(searchRequest(current, after, properties, policy.pageSize)),
          signal,
        );
        read += answer.results.length;
        const fresh: SimplePublicObject[] = [];
        for (const deal of answer.results) {
          const m = modifiedMs(deal);
          last = { modifiedMs: m, id: deal.id };
          if (m !== seenAt) {
            seenAt = m;
            seen = new Set();
          } else if (seen.has(deal.id)) continue;
          seen.add(deal.id);
          fresh.push(deal);
        }
        if (fresh.length > 0 && last) yield { deals: fresh, window: current, last };
        const next = answer.paging?.next?.after;
        if (!next || answer.results.length === 0) break;
        // HubSpot answers 400 past the 10,000th result of one query: start a new window instead. A
        // full page at one timestamp (a bulk import) is read by id at once rather than at the cap.
        const first = answer.results[0];
        const oneInstant =
          current.kind === 'range' &&
          answer.results.length === policy.pageSize &&
          first !== undefined &&
          modifiedMs(first) === last?.modifiedMs;
        if (read + policy.pageSize > searchResultCap || oneInstant) {
          capped = true;
          break;
        }
        after = next;
      }
      window = nextWindow(current, capped, last);
    }
  }

  return {
    async test(signal) {
      const facts = await portalFacts(signal);
      const answer = await request(
        'POST /crm/v3/objects/deals/search',
        () =>
          deals.searchApi.doSearch(
            searchRequest({ kind: 'range', since: 0, inclusive: true }, undefined, properties, 10),
          ),
        signal,
      );
      const notes = [
        `time zone ${facts.timeZone ?? 'unknown (UTC is used for close dates)'}`,
        `company currency ${facts.companyCurrency ?? `unknown (${settings.currency ?? 'the goal currency'} is used)`}`,
      ];
      for (const objectType of ['deals', 'contacts'] as const) {
        try {
          await request(
            `GET /crm/v3/properties/${objectType}/${clickProperty}`,
            () => client.crm.properties.coreApi.getByName(objectType, clickProperty),
            signal,
          );
        } catch (error) {
          if (!(error instanceof ConnectorError) || error.code !== 'not_found') throw error;
          notes.push(
            `the ${objectType} property '${clickProperty}' does not exist: create it (single-line text) so click IDs can be read from ${objectType}`,
          );
        }
      }
      return { signedInAs: `HubSpot portal ${facts.portalId}`, dealsRead: answer.results.length, notes };
    },

    async *pull(cursorText, signal): AsyncIterable<DealPage> {
      const facts = await portalFacts(signal);
      const start = cursorText === null ? null : decodeCursor(cursorText);
      // Deleted deals are reported from the archive time the last sync reached (all of them on a full sync).
      const archivedFrom =
        start === null ? null : (start.archivedSince ?? start.modifiedMs) - policy.overlapMs;
      let position: HubspotCursor = start ?? { modifiedMs: 0, afterId: '0', archivedSince: null };
      for await (const page of searchPages(start, signal)) {
        position = cursorAfter(page.window, page.last, start?.archivedSince ?? null);
        yield { deals: await records(page.deals, facts, signal), cursor: encodeCursor(position) };
      }
      // Search never returns archived deals: the basic API lists them (crm-calltracking.md B).
      let newestArchive = position.modifiedMs;
      let after: string | undefined;
      for (;;) {
        const from = after;
        const answer = await request(
          'GET /crm/v3/objects/deals?archived=true',
          () => deals.basicApi.getPage(policy.pageSize, from, properties, undefined, undefined, true),
          signal,
        );
        const gone: DealRecord[] = [];
        for (const deal of answer.results) {
          const at = deal.archivedAt?.getTime() ?? Number.POSITIVE_INFINITY;
          if (Number.isFinite(at)) newestArchive = Math.max(newestArchive, at);
          if (archivedFrom !== null && at < archivedFrom) continue;
          gone.push(
            toDealRecord({
              deal,
              settings,
              portal: facts,
              stageHistory: undefined,
              click: null,
              deleted: true,
            }),
          );
        }
        if (gone.length > 0) yield { deals: gone, cursor: encodeCursor(position) };
        after = answer.paging?.next?.after;
        if (!after) break;
      }
      const end = encodeCursor({ ...position, archivedSince: newestArchive });
      if (end !== cursorText) yield { deals: [], cursor: end };
    },
  };
}
