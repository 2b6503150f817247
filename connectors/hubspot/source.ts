import { Client } from '@hubspot/api-client';
import type { SimplePublicObject } from '@hubspot/api-client/lib/codegen/crm/deals/index.js';
import {
  ConnectorError,
  type ConnectorEvents,
  type DealPage,
  type DealRecord,
  type DealSource,
} from '../deals.ts';
import {
  type ContactClick,
  clickFromContacts,
  clickOnDeal,
  dealProperties,
  mergedIds,
  mergedRecord,
  modifiedMs,
  type PortalFacts,
  toDealRecord,
} from './records.ts';
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

export interface SourceOptions extends RequestPolicy {
  /** Re-read before the cursor, for search's indexing lag (supaglue#665). @default 300000 */
  overlapMs: number;
  /** Deals per search page: one page is one batch read of its won deals' history. @default 100 */
  pageSize: number;
}

/** HubSpot's batch read takes at most 50 inputs when it returns property histories (PipedreamHQ/pipedream#8462). */
const historyBatch = 50;
/** deal → contact, HUBSPOT_DEFINED (associate-records guide; crm-flow.md §1). */
const dealToContactType = 3;
const hubspotApi = 'https://api.hubapi.com';

/** A non-2xx answer to `client.apiRequest`, in the SDK's ApiException shape. */
class HttpError extends Error {
  readonly code: number;
  readonly body: unknown;
  readonly headers: Record<string, string>;
  constructor(code: number, body: unknown, headers: Record<string, string>) {
    super(`HTTP ${code}`);
    this.code = code;
    this.body = body;
    this.headers = headers;
  }
}

async function getJson(client: Client, path: string): Promise<Record<string, unknown>> {
  const response = await client.apiRequest({ method: 'GET', path });
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) throw new HttpError(response.status, body, Object.fromEntries(response.headers));
  return (body ?? {}) as Record<string, unknown>;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

export function createHubspotSource(options: {
  settings: HubspotSettings;
  secrets: HubspotSecrets;
  events?: ConnectorEvents;
  policy: SourceOptions;
}): DealSource {
  const { settings, secrets, policy } = options;
  const events = options.events ?? {};
  const basePath = (settings.baseUrl ?? hubspotApi).replace(/\/+$/, '');
  // numberOfApiCallRetries 0 and no limiterOptions: pacing and retries are ours (requests.ts).
  const client = new Client({ accessToken: secrets.token, basePath, numberOfApiCallRetries: 0 });
  // Bind the APIs now, while this Client's (empty) decorators are the process-wide ones (#416).
  const deals = client.crm.deals;
  const contacts = client.crm.contacts;
  const associations = client.crm.associations.v4;
  const properties = dealProperties(settings);
  const clickProperty = settings.clickIdProperty;
  const request = createRequester({ portalKey: portalKey(basePath, secrets.token), policy, events });
  let portal: PortalFacts | null = null;

  async function portalFacts(signal?: AbortSignal): Promise<PortalFacts> {
    if (portal) return portal;
    const info = await request(
      'GET /account-info/v3/details',
      () => getJson(client, '/account-info/v3/details'),
      signal,
    );
    let companyCurrency = text(info.companyCurrency);
    if (!companyCurrency) {
      try {
        const currency = await request(
          'GET /settings/v3/currencies/company-currency',
          () => getJson(client, '/settings/v3/currencies/company-currency'),
          signal,
        );
        companyCurrency = text(currency.currencyCode);
      } catch (error) {
        // Without the settings scope the company currency stays unknown: settings.currency is used.
        if (!(error instanceof ConnectorError) || error.retryable) throw error;
      }
    }
    portal = { portalId: String(info.portalId ?? '?'), timeZone: text(info.timeZone), companyCurrency };
    return portal;
  }

  /** dealstage and click-ID histories of the won deals of a page, by id. */
  async function histories(ids: string[], signal?: AbortSignal): Promise<Map<string, SimplePublicObject>> {
    const byId = new Map<string, SimplePublicObject>();
    for (let i = 0; i < ids.length; i += historyBatch) {
      const inputs = ids.slice(i, i + historyBatch).map((id) => ({ id }));
      const answer = await request(
        'POST /crm/v3/objects/deals/batch/read',
        () =>
          deals.batchApi.read(
            { inputs, properties: ['dealstage'], propertiesWithHistory: ['dealstage', clickProperty] },
            false,
          ),
        signal,
      );
      for (const deal of answer.results) byId.set(deal.id, deal);
    }
    return byId;
  }

  /** The contacts of each deal (typeId 3), with the labels of their user-defined associations. */
  async function dealContacts(
    ids: string[],
    signal?: AbortSignal,
  ): Promise<Map<string, Map<string, string | null>>> {
    const byDeal = new Map<string, Map<string, string | null>>();
    if (ids.length === 0) return byDeal;
    const answer = await request(
      'POST /crm/v4/associations/deals/contacts/batch/read',
      () => associations.batchApi.getPage('deals', 'contacts', { inputs: ids.map((id) => ({ id })) }),
      signal,
    );
    for (const result of answer.results) {
      const dealId = result._from.id;
      const found = byDeal.get(dealId) ?? new Map<string, string | null>();
      byDeal.set(dealId, found);
      let to = result.to;
      let after = result.paging?.next?.after;
      for (;;) {
        for (const contact of to) {
          const types = contact.associationTypes;
          if (!types.some((t) => t.typeId === dealToContactType && t.category === 'HUBSPOT_DEFINED'))
            continue;
          const label = types.find((t) => t.category === 'USER_DEFINED' && t.label)?.label ?? null;
          found.set(String(contact.toObjectId), label);
        }
        if (!after) break;
        const cursor = after;
        const more = await request(
          'GET /crm/v4/objects/deals/{id}/associations/contacts',
          () => associations.basicApi.getPage('deals', dealId, 'contacts', cursor, 500),
          signal,
        );
        to = more.results;
        after = more.paging?.next?.after;
      }
    }
    return byDeal;
  }

  async function contactClicks(
    ids: string[],
    signal?: AbortSignal,
  ): Promise<Map<string, SimplePublicObject>> {
    const byId = new Map<string, SimplePublicObject>();
    for (let i = 0; i < ids.length; i += historyBatch) {
      const inputs = ids.slice(i, i + historyBatch).map((id) => ({ id }));
      const answer = await request(
        'POST /crm/v3/objects/contacts/batch/read',
        () =>
          contacts.batchApi.read(
            { inputs, properties: [clickProperty], propertiesWithHistory: [clickProperty] },
            false,
          ),
        signal,
      );
      for (const contact of answer.results) byId.set(contact.id, contact);
    }
    return byId;
  }

  /** Deal records of one search page: won time from history, click ID by rule A, merged ids. */
  async function records(
    page: SimplePublicObject[],
    facts: PortalFacts,
    signal?: AbortSignal,
  ): Promise<DealRecord[]> {
    const isWon = (deal: SimplePublicObject) =>
      settings.wonStages.includes(deal.properties.dealstage?.trim() ?? '');
    const won = page.filter(isWon);
    const history = await histories(
      won.map((d) => d.id),
      signal,
    );
    const out: DealRecord[] = [];
    const needContacts: DealRecord[] = [];
    for (const deal of page) {
      const withHistory = history.get(deal.id);
      const click = clickOnDeal(deal, withHistory, clickProperty);
      const record = toDealRecord({
        deal,
        settings,
        portal: facts,
        stageHistory: withHistory,
        click,
        deleted: false,
      });
      if (record.won && !click) needContacts.push(record);
      out.push(record);
      for (const merged of mergedIds(deal)) out.push(mergedRecord(merged, deal));
    }
    const contactsOf = await dealContacts(
      needContacts.map((r) => r.dealId),
      signal,
    );
    const contactIds = [...new Set([...contactsOf.values()].flatMap((m) => [...m.keys()]))];
    const read = await contactClicks(contactIds, signal);
    for (const record of needContacts) {
      const candidates: ContactClick[] = [...(contactsOf.get(record.dealId) ?? new Map()).entries()].map(
        ([contactId, label]) => {
          const contact = read.get(contactId);
          return {
            contactId,
            label,
            current: contact?.properties[clickProperty] ?? null,
            history: (contact?.propertiesWithHistory?.[clickProperty] ?? []).map((h) => ({
              value: h.value ?? '',
              timestamp: new Date(h.timestamp),
            })),
          };
        },
      );
      record.click = clickFromContacts(candidates, record.wonAt, clickProperty);
    }
    return out;
  }

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
