/** HubSpot's object shapes and search semantics, for the fake HubSpot (hubspot-server.ts). */
import { type FakeContact, type FakeDeal, type FakeHistoryEntry, modifiedOf } from './hubspot-store.ts';

const dateProperties = new Set(['hs_lastmodifieddate', 'closedate', 'createdate']);

export function comparable(name: string, value: string): number | string {
  if (dateProperties.has(name) || name.startsWith('hs_v2_date_entered_')) {
    return /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  }
  if (name === 'hs_object_id' || name === 'amount') return Number(value);
  return value;
}

export interface Filter {
  propertyName: string;
  operator: string;
  value?: string;
  values?: string[];
}

export function effective(deal: FakeDeal, name: string): string | null {
  if (name === 'hs_object_id') return deal.id;
  if (name === 'createdate') return deal.createdAt.toISOString();
  if (name === 'hs_lastmodifieddate') return new Date(modifiedOf(deal)).toISOString();
  const value = deal.properties[name];
  return value === undefined || value === '' ? null : value;
}

export function matches(deal: FakeDeal, filter: Filter): boolean {
  const actual = effective(deal, filter.propertyName);
  if (filter.operator === 'HAS_PROPERTY') return actual !== null;
  if (filter.operator === 'NOT_HAS_PROPERTY') return actual === null;
  if (actual === null) return false;
  const a = comparable(filter.propertyName, actual);
  const b = comparable(filter.propertyName, filter.value ?? '');
  switch (filter.operator) {
    case 'EQ':
      return a === b;
    case 'NEQ':
      return a !== b;
    case 'GT':
      return a > b;
    case 'GTE':
      return a >= b;
    case 'LT':
      return a < b;
    case 'LTE':
      return a <= b;
    case 'IN':
      return (filter.values ?? []).includes(actual);
    default:
      throw new Error(`fake HubSpot: operator ${filter.operator} not served`);
  }
}

/** HubSpot orders equal sort values arbitrarily: the fake scrambles them (never by id). */
export function scramble(id: number): number {
  return Math.imul(id, 2654435761) >>> 0;
}

export function historyOut(entries: FakeHistoryEntry[] | undefined) {
  return [...(entries ?? [])]
    .sort((a, b) => b.timestamp.getTime() - a.timestamp.getTime())
    .map((h) => ({ value: h.value, timestamp: h.timestamp.toISOString(), sourceType: 'CRM_UI' }));
}

export function objectOut(
  object: {
    id: string;
    properties: Record<string, string | null>;
    createdAt: Date;
    history: Record<string, FakeHistoryEntry[]>;
  },
  properties: string[],
  withHistory: string[],
  archivedAt?: Date,
) {
  const deal = object as FakeDeal;
  const props: Record<string, string | null> = {};
  const computed = ['hs_object_id', 'createdate', 'hs_lastmodifieddate'];
  for (const name of new Set([...properties, ...computed])) {
    // HubSpot answers '' for an emptied property and null for one never set.
    props[name] = computed.includes(name) ? effective(deal, name) : (object.properties[name] ?? null);
  }
  const updatedAt = props.hs_lastmodifieddate ?? object.createdAt.toISOString();
  return {
    id: object.id,
    properties: props,
    ...(withHistory.length > 0
      ? {
          propertiesWithHistory: Object.fromEntries(
            withHistory.map((name) => [name, historyOut(object.history[name])]),
          ),
        }
      : {}),
    createdAt: object.createdAt.toISOString(),
    updatedAt,
    archived: archivedAt !== undefined,
    ...(archivedAt ? { archivedAt: archivedAt.toISOString() } : {}),
  };
}

export function list(value: string | null): string[] {
  return value ? value.split(',').filter(Boolean) : [];
}

/** A deal in a stage, as a test writes it (history: created in appointmentscheduled, then the stage). */
export function fakeDeal(options: {
  id: string;
  stage?: string;
  /** When it entered `stage` (also its modified time). */
  at: Date;
  amount?: string;
  currency?: string;
  clickId?: string;
  closedate?: Date;
  contacts?: { id: string; label?: string }[];
  name?: string;
}): FakeDeal {
  const created = new Date(options.at.getTime() - 86_400_000);
  const stage = options.stage ?? 'closedwon';
  const properties: Record<string, string | null> = {
    dealname: options.name ?? `Deal ${options.id}`,
    dealstage: stage,
    pipeline: 'default',
    amount: options.amount ?? '',
    closedate: (options.closedate ?? options.at).toISOString(),
    hs_lastmodifieddate: options.at.toISOString(),
    [`hs_v2_date_entered_${stage}`]: options.at.toISOString(),
  };
  if (options.currency) properties.deal_currency_code = options.currency;
  if (options.clickId) properties.msclkid = options.clickId;
  return {
    id: options.id,
    properties,
    createdAt: created,
    history: {
      dealstage: [
        { value: 'appointmentscheduled', timestamp: created },
        ...(stage === 'appointmentscheduled' ? [] : [{ value: stage, timestamp: options.at }]),
      ],
      ...(options.clickId ? { msclkid: [{ value: options.clickId, timestamp: created }] } : {}),
    },
    contacts: options.contacts ?? [],
  };
}

/** A contact whose click-ID property was set at the given times (the last one is current). */
export function fakeContact(
  id: string,
  clicks: { value: string; at: Date }[],
  property = 'msclkid',
): FakeContact {
  const last = clicks.at(-1);
  return {
    id,
    properties: { [property]: last?.value ?? null, email: `c${id}@example.com` },
    createdAt: clicks[0]?.at ?? new Date(0),
    history: { [property]: clicks.map((c) => ({ value: c.value, timestamp: c.at })) },
  };
}
