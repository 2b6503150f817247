import type { ConnectorEvents, DealPage, DealRecord, DealSource } from '../../connectors/deals.ts';
import type { DealSourceFactory } from '../../src/services/connectors.ts';

/**
 * An in-memory CRM behind our own DealSource interface (not an SDK): deals changed since a cursor, a page
 * at a time, in the order they changed. Every change gets the next sequence number; the cursor is the
 * last number of a page, so resuming from any stored cursor re-reads nothing lost. `failOnPage` throws
 * when that page (1-based, counted per pull) is asked for: a CRM that fails mid-sync.
 */
export function memoryCrm(options: { pageSize?: number } = {}) {
  const pageSize = options.pageSize ?? 3;
  const deals = new Map<string, { deal: DealRecord; seq: number }>();
  let seq = 0;
  let failOnPage: number | undefined;
  const calls: string[] = [];
  const crm = {
    calls,
    /** Create or change a deal (a full record: the CRM's current truth). */
    put(deal: DealRecord) {
      deals.set(deal.dealId, { deal, seq: ++seq });
    },
    get(dealId: string): DealRecord {
      const found = deals.get(dealId);
      if (!found) throw new Error(`no deal ${dealId}`);
      return found.deal;
    },
    change(dealId: string, patch: Partial<DealRecord>) {
      crm.put({ ...crm.get(dealId), ...patch });
    },
    failOnPage(page: number | undefined) {
      failOnPage = page;
    },
    source(events: ConnectorEvents = {}): DealSource {
      return {
        async test() {
          events.onApiCall?.('test');
          calls.push('test');
          return { signedInAs: 'memory CRM', dealsRead: Math.min(pageSize, deals.size), notes: [] };
        },
        async *pull(cursor: string | null): AsyncIterable<DealPage> {
          const after = cursor === null ? 0 : Number(cursor);
          const changed = [...deals.values()].filter((d) => d.seq > after).sort((a, b) => a.seq - b.seq);
          for (let i = 0, page = 1; i < changed.length; i += pageSize, page++) {
            events.onApiCall?.(`page ${page}`);
            calls.push(`pull ${cursor ?? 'start'} page ${page}`);
            if (failOnPage === page) throw new Error(`the CRM failed on page ${page}`);
            const slice = changed.slice(i, i + pageSize);
            yield { deals: slice.map((d) => d.deal), cursor: String(slice.at(-1)!.seq) };
          }
        },
      };
    },
    /** A DealSourceFactory for the services: every connector reads this CRM. */
    factory(): DealSourceFactory {
      return async ({ events }) => crm.source(events);
    },
  };
  return crm;
}
