import type { SimplePublicObject } from '@hubspot/api-client/lib/codegen/crm/deals/index.js';
import { DateTime } from 'luxon';
import type { ClickIdFound, DealRecord } from '../deals.ts';
import type { HubspotSettings } from './settings.ts';

/** What one account-info call tells about the portal. */
export interface PortalFacts {
  portalId: string;
  /** IANA zone of the portal ("US/Eastern"), for closedate's calendar day; null when unknown (UTC). */
  timeZone: string | null;
  /** The company currency, for deals without deal_currency_code; null when unknown. */
  companyCurrency: string | null;
}

/** A property's history entry, newest first as HubSpot returns it. */
export interface HistoryEntry {
  value: string;
  timestamp: Date;
}

/** The deal properties every read asks for. */
export function dealProperties(settings: HubspotSettings): string[] {
  return [
    'dealname',
    'dealstage',
    'pipeline',
    'amount',
    'deal_currency_code',
    'closedate',
    'hs_lastmodifieddate',
    'hs_object_id',
    'hs_merged_object_ids',
    settings.clickIdProperty,
    // Not listed by /crm/v3/properties/deals: asked for by name (dlt-hub/verified-sources#647).
    ...settings.wonStages.map((stage) => `hs_v2_date_entered_${stage}`),
  ];
}

/**
 * HubSpot sends every property as a string and an empty amount as '' (crm-calltracking.md D.11):
 * empty is null, never 0, and anything but a plain decimal ('1,000', '12 EUR') is null with a note.
 */
export function parseAmount(raw: string | null | undefined): { amount: string | null; note: string | null } {
  if (raw === null || raw === undefined) return { amount: null, note: null };
  const text = raw.trim();
  if (text === '') return { amount: null, note: null };
  if (/^-?\d+(\.\d+)?$/.test(text)) return { amount: text, note: null };
  return {
    amount: null,
    note: `amount '${raw}' is not a number (HubSpot holds a plain decimal such as 1250.50): the deal is read without an amount`,
  };
}

/** A datetime property: ISO 8601 (the v3 API) or epoch milliseconds; null when empty or unreadable. */
export function parseInstant(raw: string | null | undefined): Date | null {
  if (raw === null || raw === undefined || raw.trim() === '') return null;
  const text = raw.trim();
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms);
}

/**
 * closedate is a datetime picked with a date picker and may land on the next UTC day
 * (fivetran/dbt_hubspot#101): its calendar day in the portal's zone, at 12:00 there (crm-flow.md B.3).
 */
export function closeDateNoon(closedate: Date | null, timeZone: string | null): Date | null {
  if (!closedate) return null;
  let local = DateTime.fromJSDate(closedate, { zone: timeZone ?? 'UTC' });
  if (!local.isValid) local = DateTime.fromJSDate(closedate, { zone: 'UTC' });
  return local.set({ hour: 12, minute: 0, second: 0, millisecond: 0 }).toJSDate();
}

/**
 * When the deal entered its current won run: the oldest entry of the newest run of won stages in
 * dealstage's history (a move between two won stages keeps the first). Without history,
 * hs_v2_date_entered_<current stage>. Null when neither says.
 */
export function wonTime(
  stage: string | null,
  history: HistoryEntry[] | undefined,
  properties: Record<string, string | null>,
  wonStages: string[],
): Date | null {
  if (history && history.length > 0) {
    const newestFirst = [...history].sort((a, b) => b.timestamp.getTime() - a.timestamp.getTime());
    let entered: Date | null = null;
    for (const entry of newestFirst) {
      if (!wonStages.includes(entry.value)) break;
      entered = entry.timestamp;
    }
    if (entered) return entered;
  }
  return stage ? parseInstant(properties[`hs_v2_date_entered_${stage}`]) : null;
}

/** The value a property held at `at` (or now, when null): the newest history entry not after it. */
export function valueAt(history: HistoryEntry[], at: Date | null): HistoryEntry | null {
  let best: HistoryEntry | null = null;
  for (const entry of history) {
    if (at && entry.timestamp.getTime() > at.getTime()) continue;
    if (!best || entry.timestamp.getTime() > best.timestamp.getTime()) best = entry;
  }
  return best;
}

/** One associated contact as read for rule A. */
export interface ContactClick {
  contactId: string;
  label: string | null;
  current: string | null;
  history: HistoryEntry[];
}

/**
 * Rule A step 2 (crm-flow.md): among the deal's contacts, the click ID set most recently before the
 * won time (the value each contact held then, from the property's history); never the first contact
 * blindly. A contact whose property has no history counts with its current value, capture time unknown.
 */
export function clickFromContacts(
  contacts: ContactClick[],
  wonAt: Date | null,
  property: string,
): ClickIdFound | null {
  let best: { found: ClickIdFound; at: number } | null = null;
  for (const contact of contacts) {
    const where = `contact:${contact.contactId}${contact.label ? `(label ${contact.label})` : ''}.${property}`;
    let candidate: { found: ClickIdFound; at: number } | null = null;
    if (contact.history.length > 0) {
      const entry = valueAt(contact.history, wonAt);
      if (entry && entry.value.trim() !== '') {
        candidate = {
          found: { clickId: entry.value.trim(), rule: where, capturedAt: entry.timestamp },
          at: entry.timestamp.getTime(),
        };
      }
    } else if (contact.current && contact.current.trim() !== '') {
      candidate = {
        found: { clickId: contact.current.trim(), rule: where, capturedAt: null },
        at: Number.NEGATIVE_INFINITY,
      };
    }
    if (candidate && (!best || candidate.at > best.at)) best = candidate;
  }
  return best?.found ?? null;
}

function historyOf(deal: SimplePublicObject, property: string): HistoryEntry[] {
  return (deal.propertiesWithHistory?.[property] ?? []).map((h) => ({
    value: h.value ?? '',
    timestamp: h.timestamp instanceof Date ? h.timestamp : new Date(h.timestamp),
  }));
}

/** The click ID on the deal itself (rule A step 1), with its capture time from the history when read. */
export function clickOnDeal(
  deal: SimplePublicObject,
  withHistory: SimplePublicObject | undefined,
  property: string,
): ClickIdFound | null {
  const value = deal.properties[property]?.trim();
  if (!value) return null;
  const entry = withHistory ? valueAt(historyOf(withHistory, property), null) : null;
  return {
    clickId: value,
    rule: `deal.${property}`,
    capturedAt: entry && entry.value.trim() === value ? entry.timestamp : null,
  };
}

/** The ids a deal absorbed (hs_merged_object_ids, ';'-separated). */
export function mergedIds(deal: SimplePublicObject): string[] {
  const raw = deal.properties.hs_merged_object_ids;
  if (!raw) return [];
  return raw
    .split(';')
    .map((id) => id.trim())
    .filter((id) => /^\d+$/.test(id) && id !== deal.id);
}

export function modifiedMs(deal: SimplePublicObject): number {
  return (parseInstant(deal.properties.hs_lastmodifieddate) ?? deal.updatedAt ?? new Date(0)).getTime();
}

/** A deal as HubSpot has it now, with its won time and click ID (found by the caller) filled in. */
export function toDealRecord(options: {
  deal: SimplePublicObject;
  settings: HubspotSettings;
  portal: PortalFacts;
  /** dealstage history, when it was read (won deals). */
  stageHistory: SimplePublicObject | undefined;
  click: ClickIdFound | null;
  deleted: boolean;
}): DealRecord {
  const { deal, settings, portal } = options;
  const p = deal.properties;
  const stage = p.dealstage?.trim() || null;
  const won = stage !== null && settings.wonStages.includes(stage);
  const { amount, note } = parseAmount(p.amount);
  const currency = p.deal_currency_code?.trim() || portal.companyCurrency || settings.currency;
  const record: DealRecord = {
    dealId: deal.id,
    name: p.dealname?.trim() || null,
    won,
    wonAt: won
      ? wonTime(
          stage,
          options.stageHistory && historyOf(options.stageHistory, 'dealstage'),
          p,
          settings.wonStages,
        )
      : null,
    closeDateNoon: closeDateNoon(parseInstant(p.closedate), portal.timeZone),
    amount,
    currency: currency ? currency.toUpperCase() : null,
    click: options.click,
    deleted: options.deleted,
    mergedInto: null,
    modifiedAt: options.deleted && deal.archivedAt ? deal.archivedAt : new Date(modifiedMs(deal)),
  };
  if (note) record.notes = [note];
  return record;
}

/** A deal merged into `survivor`: gone in HubSpot, to be retracted if it was sent. */
export function mergedRecord(mergedId: string, survivor: SimplePublicObject): DealRecord {
  return {
    dealId: mergedId,
    name: null,
    won: false,
    wonAt: null,
    closeDateNoon: null,
    amount: null,
    currency: null,
    click: null,
    deleted: false,
    mergedInto: survivor.id,
    modifiedAt: new Date(modifiedMs(survivor)),
  };
}
