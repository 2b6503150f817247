/**
 * The data of the fake HubSpot (test/fakes/hubspot-server.ts): deals (and contacts) generated on demand
 * from their index, so that 100,000 deals cost nothing until read, plus the deals a test wrote or changed.
 */

export interface FakeHistoryEntry {
  value: string;
  timestamp: Date;
}

export interface FakeDeal {
  id: string;
  /** HubSpot's strings: dealname, dealstage, amount ('' when empty), closedate (ISO), msclkid … */
  properties: Record<string, string | null>;
  createdAt: Date;
  /** Property histories (any order; answered newest first). */
  history: Record<string, FakeHistoryEntry[]>;
  /** Associated contacts (deal → contact typeId 3), with a user-defined label when one is set. */
  contacts: { id: string; label?: string }[];
}

export interface FakeContact {
  id: string;
  properties: Record<string, string | null>;
  createdAt: Date;
  history: Record<string, FakeHistoryEntry[]>;
}

/** The modified time of a deal, epoch ms. */
export function modifiedOf(deal: FakeDeal): number {
  return Date.parse(deal.properties.hs_lastmodifieddate ?? '') || deal.createdAt.getTime();
}

export interface StoreOptions {
  /** Generated deals: ids firstDealId, firstDealId + 1, … */
  dealCount?: number;
  /** @default 1001 */
  firstDealId?: number;
  /** The generated deal at an index (its id is given). Modified times must not decrease with the index. */
  generate?: (index: number, id: string) => Omit<FakeDeal, 'id'>;
  /** Deals of the test, in addition to the generated ones. */
  deals?: FakeDeal[];
  contacts?: FakeContact[];
  /** A contact generated on demand from its id (null: none), for the ids not in `contacts`. */
  generateContact?: (id: string) => FakeContact | null;
}

export class FakeStore {
  readonly dealCount: number;
  readonly firstDealId: number;
  private readonly generate: StoreOptions['generate'];
  private readonly generateContact: StoreOptions['generateContact'];
  /** Deals written by the test or changed since generated, by id. */
  private readonly written = new Map<string, FakeDeal>();
  /** Deals deleted (archived), with their archive time. */
  private readonly archivedDeals = new Map<string, { deal: FakeDeal; archivedAt: Date }>();
  /** Ids merged into another deal: gone from every list. */
  private readonly mergedAway = new Set<string>();
  readonly contacts = new Map<string, FakeContact>();
  /** Bumped at each change: search results cached for paging are dropped. */
  version = 0;

  constructor(options: StoreOptions) {
    this.dealCount = options.dealCount ?? 0;
    this.firstDealId = options.firstDealId ?? 1001;
    this.generate = options.generate;
    this.generateContact = options.generateContact;
    if (this.dealCount > 0 && !this.generate) throw new TypeError('dealCount needs generate');
    for (const deal of options.deals ?? []) this.written.set(deal.id, deal);
    for (const contact of options.contacts ?? []) this.contacts.set(contact.id, contact);
  }

  private generated(index: number): FakeDeal {
    const id = String(this.firstDealId + index);
    return { id, ...(this.generate as NonNullable<StoreOptions['generate']>)(index, id) };
  }

  private generatedIndex(id: string): number | null {
    if (!/^\d+$/.test(id)) return null;
    const index = Number(id) - this.firstDealId;
    return index >= 0 && index < this.dealCount ? index : null;
  }

  /** A live (not archived, not merged) deal. */
  live(id: string): FakeDeal | null {
    if (this.archivedDeals.has(id) || this.mergedAway.has(id)) return null;
    const written = this.written.get(id);
    if (written) return written;
    const index = this.generatedIndex(id);
    return index === null ? null : this.generated(index);
  }

  archived(id: string): { deal: FakeDeal; archivedAt: Date } | null {
    return this.archivedDeals.get(id) ?? null;
  }

  /** Every live deal, generated ones first in index order, then the written ones. */
  *liveDeals(): Generator<FakeDeal> {
    for (let index = 0; index < this.dealCount; index++) {
      const id = String(this.firstDealId + index);
      if (this.written.has(id) || this.archivedDeals.has(id) || this.mergedAway.has(id)) continue;
      yield this.generated(index);
    }
    for (const deal of this.written.values()) {
      if (!this.archivedDeals.has(deal.id) && !this.mergedAway.has(deal.id)) yield deal;
    }
  }

  *archivedList(): Generator<{ deal: FakeDeal; archivedAt: Date }> {
    yield* this.archivedDeals.values();
  }

  /** Changes properties as a user would: history appended, hs_lastmodifieddate set to `at`. */
  update(id: string, properties: Record<string, string | null>, at: Date): FakeDeal {
    const current = this.live(id);
    if (!current) throw new Error(`fake HubSpot: no live deal ${id}`);
    const deal: FakeDeal = structuredClone(current);
    for (const [name, value] of Object.entries(properties)) {
      deal.properties[name] = value;
      if (!deal.history[name]) deal.history[name] = [];
      deal.history[name].push({ value: value ?? '', timestamp: at });
    }
    deal.properties.hs_lastmodifieddate = at.toISOString();
    this.written.set(id, deal);
    this.version += 1;
    return deal;
  }

  addDeal(deal: FakeDeal): void {
    this.written.set(deal.id, deal);
    this.version += 1;
  }

  archive(id: string, at: Date): void {
    const deal = this.live(id);
    if (!deal) throw new Error(`fake HubSpot: no live deal ${id}`);
    this.archivedDeals.set(id, { deal, archivedAt: at });
    this.version += 1;
  }

  /** HubSpot's merge: `from` disappears, `into` lists it in hs_merged_object_ids. */
  merge(fromId: string, intoId: string, at: Date): void {
    if (!this.live(fromId)) throw new Error(`fake HubSpot: no live deal ${fromId}`);
    const into = this.live(intoId);
    if (!into) throw new Error(`fake HubSpot: no live deal ${intoId}`);
    const ids = [...(into.properties.hs_merged_object_ids ?? '').split(';').filter(Boolean), fromId];
    this.update(intoId, { hs_merged_object_ids: ids.join(';') }, at);
    this.mergedAway.add(fromId);
    this.version += 1;
  }

  /** A contact of the test, or a generated one (which is kept once a test changes it). */
  contact(id: string): FakeContact | null {
    return this.contacts.get(id) ?? this.generateContact?.(id) ?? null;
  }

  setContactProperty(contactId: string, name: string, value: string, at: Date): void {
    const contact = this.contact(contactId);
    if (!contact) throw new Error(`fake HubSpot: no contact ${contactId}`);
    this.contacts.set(contactId, contact);
    contact.properties[name] = value;
    if (!contact.history[name]) contact.history[name] = [];
    contact.history[name].push({ value, timestamp: at });
  }
}
