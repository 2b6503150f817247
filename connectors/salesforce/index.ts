/**
 * The Salesforce connector (jsforce v3): opportunities changed since a cursor, a page at a time, as
 * deal records. Incremental on SystemModstamp with an overlap window, read through queryAll so that
 * deleted opportunities (IsDeleted, in the recycle bin) come along, ordered by SystemModstamp, Id and
 * followed page by page along nextRecordsUrl to the end (jsforce's autoFetch stops silently at maxFetch,
 * 10,000 by default).
 */
import {
  type ConnectionGuard,
  ConnectorError,
  type ConnectorEvents,
  type ConnectorTestResult,
  type CrmConnector,
  type DealPage,
  type DealSource,
} from '../deals.ts';
import { type OpportunityRow, type OrgFacts, parseSalesforceDateTime, toDealRecords } from './page.ts';
import { createSalesforceSession, type SalesforceSession, type SessionTuning } from './session.ts';
import type { SalesforceSecrets, SalesforceSettings } from './settings.ts';
import { opportunitiesQuery, organizationQuery, wonStagesQuery } from './soql.ts';

export interface SalesforceTuning extends SessionTuning {
  /**
   * How far before the cursor an incremental sync starts reading: a transaction that commits late
   * carries a SystemModstamp from before the previous sync ended. @default 300_000 (5 minutes)
   */
  overlapMs?: number;
}

interface Cursor {
  v: 1;
  /** The highest SystemModstamp read (ISO). */
  modstamp: string;
}

function readCursor(cursor: string | null): Date | null {
  if (cursor === null) return null;
  try {
    const parsed = JSON.parse(cursor) as Partial<Cursor>;
    const at = parsed.v === 1 && typeof parsed.modstamp === 'string' ? new Date(parsed.modstamp) : null;
    if (at && !Number.isNaN(at.getTime())) return at;
  } catch {
    // fall through to the error below
  }
  throw new ConnectorError(
    'bad_cursor',
    `The stored Salesforce cursor is unreadable (${cursor.slice(0, 80)}): run a full sync (connectors sync NAME --full).`,
    { retryable: false },
  );
}

function writeCursor(at: Date): string {
  return JSON.stringify({ v: 1, modstamp: at.toISOString() } satisfies Cursor);
}

interface UserInfo {
  userName: string;
  organizationName: string;
  organizationMultiCurrency: boolean;
  orgDefaultCurrencyIsoCode: string | null;
}

async function readOrg(session: SalesforceSession, settings: SalesforceSettings, signal?: AbortSignal) {
  // getUserInfo says whether the org is multi-currency (then each Opportunity has CurrencyIsoCode) and,
  // when it is not, the org's one currency.
  const info = (await session.call(
    `POST /services/Soap/u/${session.conn.version} getUserInfo`,
    () => session.conn.soap.getUserInfo(),
    signal,
  )) as unknown as UserInfo;
  const organization = await session.query<{ TimeZoneSidKey: string }>(organizationQuery, {
    scanAll: false,
    ...(signal ? { signal } : {}),
  });
  const stages = await session.query<{ ApiName: string; IsWon: boolean }>(wonStagesQuery, {
    scanAll: false,
    ...(signal ? { signal } : {}),
  });
  const org: OrgFacts = {
    wonStages: new Set(stages.records.filter((s) => s.IsWon).map((s) => s.ApiName)),
    timeZone: organization.records[0]?.TimeZoneSidKey ?? 'UTC',
    multiCurrency: info.organizationMultiCurrency === true,
    defaultCurrency:
      (info.organizationMultiCurrency ? null : info.orgDefaultCurrencyIsoCode) || settings.currency,
    clickIdField: settings.clickIdField,
  };
  return { org, info };
}

export function createSalesforceSource(options: {
  settings: SalesforceSettings;
  secrets: SalesforceSecrets;
  events?: ConnectorEvents;
  tuning?: SalesforceTuning;
  guard: ConnectionGuard;
}): DealSource {
  const { settings } = options;
  const overlapMs = options.tuning?.overlapMs ?? 300_000;
  const session = createSalesforceSession(options);

  async function* pages(since: Date | null, org: OrgFacts, signal?: AbortSignal): AsyncGenerator<DealPage> {
    const from = since ? new Date(since.getTime() - overlapMs) : null;
    let highWater = since;
    // The same opportunity can come twice in one sync (a cursor that is not a snapshot returns a row
    // changed while we page again, at its new place): send each version once, the newest wins. Rows
    // come in SystemModstamp order, so only versions near the high-water mark are kept: memory stays
    // flat with 100,000 deals, and a repeat from further back is only re-sent (src/ de-duplicates it).
    const seen = new Map<string, number>();
    let result = await session.query<OpportunityRow>(
      opportunitiesQuery({
        clickIdField: settings.clickIdField,
        multiCurrency: org.multiCurrency,
        since: from,
      }),
      { scanAll: true, ...(signal ? { signal } : {}) },
    );
    for (;;) {
      const rows: OpportunityRow[] = [];
      for (const row of result.records) {
        const modified = parseSalesforceDateTime(row.SystemModstamp).getTime();
        const before = seen.get(row.Id);
        if (before !== undefined && before >= modified) continue;
        seen.set(row.Id, modified);
        rows.push(row);
        if (highWater === null || modified > highWater.getTime()) highWater = new Date(modified);
      }
      if (highWater) {
        const keepFrom = highWater.getTime() - overlapMs;
        for (const [id, modified] of seen) if (modified < keepFrom) seen.delete(id);
      }
      if (rows.length > 0 && highWater) {
        yield { deals: await toDealRecords(session, rows, org, signal), cursor: writeCursor(highWater) };
      }
      if (result.done || !result.nextRecordsUrl) return;
      result = await session.queryMore<OpportunityRow>(result.nextRecordsUrl, signal);
    }
  }

  return {
    async *pull(cursor, signal) {
      const since = readCursor(cursor);
      await session.signIn(signal);
      const { org } = await readOrg(session, settings, signal);
      yield* pages(since, org, signal);
    },

    async test(signal): Promise<ConnectorTestResult> {
      await session.signIn(signal);
      const { org, info } = await readOrg(session, settings, signal);
      // The click-ID field on each object rule A reads: a missing one is said here, before a sync fails on it.
      const missing: string[] = [];
      for (const object of ['Opportunity', 'Lead', 'Contact']) {
        const described = await session.call(
          `GET /services/data/v${session.conn.version}/sobjects/${object}/describe`,
          () => session.conn.describe(object),
          signal,
        );
        if (!described.fields.some((f) => f.name === settings.clickIdField)) missing.push(object);
      }
      let dealsRead = 0;
      if (missing.length === 0) {
        for await (const page of pages(null, org, signal)) {
          dealsRead = page.deals.length;
          break;
        }
      }
      const notes = [
        ...(missing.length > 0
          ? [
              `click-ID field ${settings.clickIdField} missing on ${missing.join(', ')} (or not visible to this user): create it as a Text(255) field on Lead, Contact and Opportunity, or set --click-id-field; no deals were read`,
            ]
          : []),
        org.multiCurrency
          ? 'multi-currency org: each opportunity is sent in its own CurrencyIsoCode'
          : `single-currency org: amounts are sent in ${org.defaultCurrency ?? 'the goal currency (Salesforce named none)'}`,
        `time zone ${org.timeZone} (close dates at 12:00 there)`,
        `won stages: ${[...org.wonStages].join(', ') || 'none (no OpportunityStage has IsWon)'}`,
      ];
      const usage = session.conn.limitInfo.apiUsage;
      if (usage) notes.push(`API usage ${usage.used}/${usage.limit} in the last 24 hours`);
      const host = new URL(session.conn.instanceUrl).host;
      return { signedInAs: `${host} as ${info.userName} (${info.organizationName})`, dealsRead, notes };
    },
  };
}

export const salesforceConnector: CrmConnector<SalesforceSettings, SalesforceSecrets> = {
  kind: 'salesforce',
  create: ({ settings, secrets, events, guard }) =>
    createSalesforceSource({ settings, secrets, guard, ...(events ? { events } : {}) }),
};
