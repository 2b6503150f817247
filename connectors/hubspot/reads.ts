import * as http from 'node:http';
import * as https from 'node:https';
import type { Client } from '@hubspot/api-client';
import type { SimplePublicObject } from '@hubspot/api-client/lib/codegen/crm/deals/index.js';
import { ConnectorError, type DealRecord } from '../deals.ts';
import {
  type ContactClick,
  clickFromContacts,
  clickOnDeal,
  mergedIds,
  mergedRecord,
  type PortalFacts,
  toDealRecord,
} from './records.ts';
import type { Requester } from './requests.ts';
import type { HubspotSettings } from './settings.ts';

/** HubSpot's batch read takes at most 50 inputs when it returns property histories (PipedreamHQ/pipedream#8462). */
const historyBatch = 50;
/** deal → contact, HUBSPOT_DEFINED (associate-records guide; crm-flow.md §1). */
const dealToContactType = 3;

/** A non-2xx answer to `getJson`, in the SDK's ApiException shape. */
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

/**
 * A GET to the portal's API outside the generated clients (account details, company currency), through
 * the same guarded agent: the SDK's `client.apiRequest` sends with the global fetch, which takes no agent.
 */
export function jsonGetter(basePath: string, token: string, agent: http.Agent) {
  return async function getJson(path: string): Promise<Record<string, unknown>> {
    const url = new URL(`${basePath}${path}`);
    const { status, headers, text } = await new Promise<{
      status: number;
      headers: Record<string, string>;
      text: string;
    }>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? https : http).request(
        url,
        { agent, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: Object.fromEntries(
                Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
              ),
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: the status says what happened
    }
    if (status < 200 || status > 299) throw new HttpError(status, body, headers);
    return (body ?? {}) as Record<string, unknown>;
  };
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/**
 * The reads behind one page of deals: the portal's facts (once), the won deals' histories, their
 * contacts and the contacts' click IDs. Each read is one paced, counted request (requests.ts).
 */
export function createReads(options: {
  client: Client;
  request: Requester;
  settings: HubspotSettings;
  getJson: (path: string) => Promise<Record<string, unknown>>;
}) {
  const { client, request, settings, getJson } = options;
  const deals = client.crm.deals;
  const contacts = client.crm.contacts;
  const associations = client.crm.associations.v4;
  const clickProperty = settings.clickIdProperty;
  let portal: PortalFacts | null = null;

  async function portalFacts(signal?: AbortSignal): Promise<PortalFacts> {
    if (portal) return portal;
    const info = await request(
      'GET /account-info/v3/details',
      () => getJson('/account-info/v3/details'),
      signal,
    );
    let companyCurrency = text(info.companyCurrency);
    if (!companyCurrency) {
      try {
        const currency = await request(
          'GET /settings/v3/currencies/company-currency',
          () => getJson('/settings/v3/currencies/company-currency'),
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

  return { portalFacts, records };
}
