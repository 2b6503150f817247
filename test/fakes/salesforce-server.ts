/**
 * A fake Salesforce on loopback, driven through the real jsforce: the OAuth2 token endpoint
 * (refresh_token grant), REST query / queryAll with nextRecordsUrl paging (2,000 rows a page), the
 * SOAP getUserInfo call, sobjects/Opportunity/describe, Sforce-Limit-Info on every API response,
 * 401 INVALID_SESSION_ID for an expired access token and 403 REQUEST_LIMIT_EXCEEDED on demand.
 *
 * Opportunities are generated lazily from their index (`generate(i)`), so 100,000 of them cost no
 * memory: only the ones a test changes are kept (`overrides`). A changed opportunity gets a new
 * SystemModstamp from the fake's clock and moves to the end of the SystemModstamp order, as in
 * Salesforce. Query locators continue from the last (SystemModstamp, Id) returned, so an opportunity
 * changed while a sync pages through can be returned twice in one sync, as a non-snapshot cursor does.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compareBy, matches, parseSoql, SoqlError, type SoqlQuery } from './salesforce-soql.ts';

export const fakeApiVersion = '62.0';
const pageSize = 2000;
const wonStage = 'Closed Won';

export interface FakeOpportunity {
  Id: string;
  Name: string;
  StageName: string;
  IsWon: boolean;
  IsClosed: boolean;
  IsDeleted: boolean;
  Amount: number | null;
  CloseDate: string | null;
  CurrencyIsoCode: string;
  CreatedDate: string;
  SystemModstamp: string;
  clickId: string | null;
}

interface HistoryRow {
  Id: string;
  OpportunityId: string;
  StageName: string;
  Amount: number | null;
  CreatedDate: string;
}

interface Stored {
  opportunity: FakeOpportunity;
  history: HistoryRow[];
}

export interface FakeLead {
  Id: string;
  ConvertedOpportunityId: string | null;
  ConvertedContactId: string | null;
  clickId: string | null;
  CreatedDate: string;
}

export interface FakeContact {
  Id: string;
  clickId: string | null;
  CreatedDate: string;
}

export interface FakeContactRole {
  Id: string;
  OpportunityId: string;
  ContactId: string;
  IsPrimary: boolean;
  CreatedDate: string;
}

/** What a generated opportunity looks like (index i); the rest is derived. */
export interface GeneratedOpportunity {
  won: boolean;
  amount: number | null;
  clickId: string | null;
  currency?: string;
}

export interface FakeSalesforceOptions {
  /** Lazily generated opportunities, SystemModstamp = base + i seconds. @default 0 */
  opportunityCount?: number;
  /** @default won when i is even, amount 1000 + i, click ID on the opportunity when i % 4 === 0 */
  generate?: (i: number) => GeneratedOpportunity;
  /** SystemModstamp of generated opportunity 0. @default 2026-01-01T00:00:00Z */
  base?: Date;
  /** The fake's clock, for SystemModstamp of changes. @default real time, strictly increasing */
  now?: () => Date;
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
  /** The custom field's API name. @default MSCLKID__c */
  clickIdField?: string;
  /** Objects on which the click-ID field does not exist (INVALID_FIELD). */
  missingClickIdFieldOn?: string[];
  multiCurrency?: boolean;
  /** Single-currency orgs: getUserInfo orgDefaultCurrencyIsoCode. @default USD */
  defaultCurrency?: string | null;
  timeZone?: string;
  /** Answer refresh grants with a new refresh token (Salesforce's refresh token rotation). */
  rotateRefreshToken?: boolean;
  apiLimit?: number;
  /**
   * Fault injection: each next page of an Opportunity query starts again with the last n rows of the
   * page before, unchanged (a cursor that repeats itself); the connector must send each version once.
   */
  replayRowsOnNextPage?: number;
  /** The instance_url the token endpoint answers (an attacker's: the metadata service). @default the fake itself */
  tokenInstanceUrl?: string;
}

export interface FakeSalesforce {
  /** The login URL (http://localhost:port); the token response names http://127.0.0.1:port as the instance. */
  loginUrl: string;
  instanceUrl: string;
  clientId: string;
  clientSecret: string;
  /** The currently valid refresh token. */
  refreshToken(): string;
  /** Every request, "GET /services/data/v62.0/queryAll" (path only). */
  requests: string[];
  /** API requests counted in Sforce-Limit-Info. */
  apiUsage(): number;
  opportunityId(i: number): string;
  opportunity(id: string): FakeOpportunity | null;
  /** A new opportunity (not generated). */
  addOpportunity(fields: Partial<FakeOpportunity> & { Id: string }): void;
  /** Moves the opportunity into a won stage at the fake's now (a history row is written). */
  win(id: string, stage?: string): void;
  lose(id: string): void;
  reopen(id: string): void;
  setAmount(id: string, amount: number | null): void;
  setCurrency(id: string, currency: string): void;
  setOpportunityClickId(id: string, clickId: string | null): void;
  /** Moves the opportunity to the recycle bin (IsDeleted, seen by queryAll only). */
  deleteOpportunity(id: string): void;
  addLead(lead: Partial<FakeLead> & { Id: string; CreatedDate: string }): void;
  addContact(contact: FakeContact): void;
  addContactRole(role: Omit<FakeContactRole, 'Id'>): void;
  /** Every access token issued so far stops working (401 INVALID_SESSION_ID). */
  expireAccessTokens(): void;
  /** The next n API requests answer 403 REQUEST_LIMIT_EXCEEDED. */
  exceedRequestLimit(n: number): void;
  close(): Promise<void>;
}

const orgId = '00D000000000001AAA';
const userId = '005000000000001AAA';

class ApiError extends Error {
  readonly status: number;
  readonly errorCode: string;
  constructor(status: number, errorCode: string, message: string) {
    super(message);
    this.status = status;
    this.errorCode = errorCode;
  }
}

function sfDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

/** A deterministic 32-hex click ID for index i (what the web snippet would have stored). */
export function fakeClickId(i: number): string {
  return `${i.toString(16).padStart(8, '0')}c1c0ffee`.repeat(2);
}

function defaultGenerate(i: number): GeneratedOpportunity {
  return { won: i % 2 === 0, amount: 1000 + i, clickId: i % 4 === 0 ? fakeClickId(i) : null };
}

function opportunityIdFor(i: number): string {
  return `006${String(i).padStart(12, '0')}AAA`;
}

export async function startFakeSalesforce(options: FakeSalesforceOptions = {}): Promise<FakeSalesforce> {
  const count = options.opportunityCount ?? 0;
  const generate = options.generate ?? defaultGenerate;
  const base = (options.base ?? new Date('2026-01-01T00:00:00Z')).getTime();
  const clickIdField = options.clickIdField ?? 'MSCLKID__c';
  const clientId = options.clientId ?? 'fake-client-id';
  const clientSecret = options.clientSecret ?? 'fake-client-secret';
  const multiCurrency = options.multiCurrency ?? false;
  const apiLimit = options.apiLimit ?? 15_000;
  let currentRefreshToken = options.refreshToken ?? 'fake-refresh-token';
  let lastClock = 0;
  const now = (): number => {
    const t = options.now ? options.now().getTime() : Date.now();
    lastClock = Math.max(t, lastClock + 1);
    return lastClock;
  };
  const validTokens = new Set<string>();
  let limitFailures = 0;
  let used = 0;
  const requests: string[] = [];
  const overrides = new Map<string, Stored>();
  const leads: FakeLead[] = [];
  const contacts = new Map<string, FakeContact>();
  const roles: FakeContactRole[] = [];
  const locators = new Map<string, Locator>();
  let locatorSeq = 0;
  let rowSeq = 0;

  function generated(i: number): Stored {
    const g = generate(i);
    const id = opportunityIdFor(i);
    const modstamp = base + i * 1000;
    const created = modstamp - 30 * 86_400_000;
    const opportunity: FakeOpportunity = {
      Id: id,
      Name: `Deal ${i}`,
      StageName: g.won ? wonStage : 'Prospecting',
      IsWon: g.won,
      IsClosed: g.won,
      IsDeleted: false,
      Amount: g.amount,
      CloseDate: new Date(modstamp).toISOString().slice(0, 10),
      CurrencyIsoCode: g.currency ?? 'USD',
      CreatedDate: sfDateTime(created),
      SystemModstamp: sfDateTime(modstamp),
      clickId: g.clickId,
    };
    const history: HistoryRow[] = [
      {
        Id: `008g${i}a`,
        OpportunityId: id,
        StageName: 'Prospecting',
        Amount: g.amount,
        CreatedDate: sfDateTime(created),
      },
    ];
    if (g.won) {
      history.push({
        Id: `008g${i}b`,
        OpportunityId: id,
        StageName: wonStage,
        Amount: g.amount,
        CreatedDate: sfDateTime(modstamp - 3_600_000),
      });
    }
    return { opportunity, history };
  }

  function indexOf(id: string): number | null {
    const m = /^006(\d{12})AAA$/.exec(id);
    if (!m) return null;
    const i = Number(m[1]);
    return i < count ? i : null;
  }

  function stored(id: string): Stored | null {
    const o = overrides.get(id);
    if (o) return o;
    const i = indexOf(id);
    return i === null ? null : generated(i);
  }

  /** Copies a generated opportunity into the overrides so that it can change. */
  function change(id: string, apply: (s: Stored, at: string) => void): void {
    const s = stored(id);
    if (!s) throw new Error(`fake Salesforce: no opportunity ${id}`);
    const at = sfDateTime(now());
    apply(s, at);
    s.opportunity.SystemModstamp = at;
    overrides.set(id, s);
  }

  function historyRow(s: Stored, at: string): void {
    s.history.push({
      Id: `008h${++rowSeq}`,
      OpportunityId: s.opportunity.Id,
      StageName: s.opportunity.StageName,
      Amount: s.opportunity.Amount,
      CreatedDate: at,
    });
  }

  // ---- records as the API shows them -------------------------------------------------------------

  const objectFields: Record<string, string[]> = {
    Opportunity: [
      'Id',
      'Name',
      'StageName',
      'IsWon',
      'IsClosed',
      'IsDeleted',
      'Amount',
      'CloseDate',
      'CreatedDate',
      'SystemModstamp',
      ...(multiCurrency ? ['CurrencyIsoCode'] : []),
      clickIdField,
    ],
    OpportunityHistory: ['Id', 'OpportunityId', 'StageName', 'Amount', 'CreatedDate'],
    OpportunityStage: ['Id', 'ApiName', 'MasterLabel', 'IsWon', 'IsClosed', 'IsActive'],
    Organization: ['Id', 'Name', 'TimeZoneSidKey'],
    Lead: ['Id', 'ConvertedOpportunityId', 'ConvertedContactId', 'IsConverted', 'CreatedDate', clickIdField],
    Contact: ['Id', 'CreatedDate', clickIdField],
    OpportunityContactRole: ['Id', 'OpportunityId', 'ContactId', 'IsPrimary', 'CreatedDate'],
  };
  for (const object of options.missingClickIdFieldOn ?? []) {
    objectFields[object] = (objectFields[object] ?? []).filter((f) => f !== clickIdField);
  }

  function checkFields(object: string, fields: string[]): void {
    const known = objectFields[object];
    if (!known) throw new ApiError(400, 'INVALID_TYPE', `sObject type '${object}' is not supported.`);
    for (const field of fields) {
      const [head, sub] = field.split('.');
      if (sub !== undefined && object === 'OpportunityContactRole' && head === 'Contact') {
        checkFields('Contact', [sub]);
      } else if (!known.includes(field)) {
        throw new ApiError(
          400,
          'INVALID_FIELD',
          `No such column '${field}' on entity '${object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.`,
        );
      }
    }
  }

  function opportunityRow(o: FakeOpportunity): Record<string, unknown> {
    const { clickId, ...rest } = o;
    return { ...rest, [clickIdField]: clickId };
  }

  function contactRow(c: FakeContact): Record<string, unknown> {
    return { Id: c.Id, CreatedDate: c.CreatedDate, [clickIdField]: c.clickId };
  }

  function project(object: string, row: Record<string, unknown>, fields: string[]): Record<string, unknown> {
    const out: Record<string, unknown> = {
      attributes: {
        type: object,
        url: `/services/data/v${fakeApiVersion}/sobjects/${object}/${String(row.Id)}`,
      },
    };
    for (const field of fields) {
      const [head, sub] = field.split('.') as [string, string | undefined];
      if (sub === undefined) {
        out[field] = row[field] ?? null;
      } else {
        const related = row[head] as Record<string, unknown> | null;
        if (related === null || related === undefined) {
          out[head] = null;
        } else {
          const nested = (out[head] as Record<string, unknown> | undefined) ?? {
            attributes: {
              type: head,
              url: `/services/data/v${fakeApiVersion}/sobjects/${head}/${String(related.Id)}`,
            },
          };
          nested[sub] = related[sub] ?? null;
          out[head] = nested;
        }
      }
    }
    return out;
  }

  // ---- query evaluation --------------------------------------------------------------------------

  interface Locator {
    query: SoqlQuery;
    scanAll: boolean;
    /** Opportunity: the last (SystemModstamp ms, Id) returned; others: the offset in `rows`. */
    after: { t: number; id: string } | null;
    rows: Record<string, unknown>[] | null;
    offset: number;
    returned: number;
    totalSize: number;
    /** Rows the next page repeats (replayRowsOnNextPage). */
    replay: Record<string, unknown>[];
  }

  const modstampMs = (o: FakeOpportunity): number => Date.parse(o.SystemModstamp.replace('+0000', 'Z'));

  /** Every opportunity after `after`, in (SystemModstamp, Id) order, generated lazily. */
  function* opportunitiesInOrder(after: { t: number; id: string } | null): Generator<FakeOpportunity> {
    const changed = [...overrides.values()]
      .map((s) => s.opportunity)
      .filter(
        (o) => after === null || modstampMs(o) > after.t || (modstampMs(o) === after.t && o.Id > after.id),
      )
      .sort((a, b) => modstampMs(a) - modstampMs(b) || (a.Id < b.Id ? -1 : 1));
    let i = after === null ? 0 : Math.max(0, Math.floor((after.t - base) / 1000));
    let c = 0;
    const isAfter = (t: number, id: string) =>
      after === null || t > after.t || (t === after.t && id > after.id);
    for (;;) {
      while (
        i < count &&
        (overrides.has(opportunityIdFor(i)) || !isAfter(base + i * 1000, opportunityIdFor(i)))
      )
        i++;
      const g = i < count ? { t: base + i * 1000, id: opportunityIdFor(i) } : null;
      const o = changed[c];
      if (!g && !o) return;
      if (o && (!g || modstampMs(o) < g.t || (modstampMs(o) === g.t && o.Id < g.id))) {
        yield o;
        c++;
      } else {
        yield generated(i).opportunity;
        i++;
      }
    }
  }

  function visible(o: FakeOpportunity, query: SoqlQuery, scanAll: boolean): boolean {
    return (scanAll || !o.IsDeleted) && matches(opportunityRow(o), query.where);
  }

  function rowsOf(query: SoqlQuery, scanAll: boolean): Record<string, unknown>[] {
    const idsIn = (field: string): string[] | null => {
      const c = query.where.find((w) => w.field === field && w.op === 'IN');
      return c ? (c.value as string[]) : null;
    };
    switch (query.object) {
      case 'OpportunityHistory': {
        const ids = idsIn('OpportunityId');
        if (!ids)
          throw new ApiError(
            400,
            'MALFORMED_QUERY',
            'the fake reads OpportunityHistory by OpportunityId IN (…)',
          );
        return ids.flatMap((id) => (stored(id)?.history ?? []) as unknown as Record<string, unknown>[]);
      }
      case 'OpportunityStage':
        return [
          {
            Id: '01J1',
            ApiName: 'Prospecting',
            MasterLabel: 'Prospecting',
            IsWon: false,
            IsClosed: false,
            IsActive: true,
          },
          {
            Id: '01J2',
            ApiName: 'Negotiation',
            MasterLabel: 'Negotiation',
            IsWon: false,
            IsClosed: false,
            IsActive: true,
          },
          {
            Id: '01J3',
            ApiName: wonStage,
            MasterLabel: wonStage,
            IsWon: true,
            IsClosed: true,
            IsActive: true,
          },
          {
            Id: '01J4',
            ApiName: 'Signed',
            MasterLabel: 'Signed',
            IsWon: true,
            IsClosed: true,
            IsActive: true,
          },
          {
            Id: '01J5',
            ApiName: 'Closed Lost',
            MasterLabel: 'Closed Lost',
            IsWon: false,
            IsClosed: true,
            IsActive: true,
          },
        ];
      case 'Organization':
        return [{ Id: orgId, Name: 'Fake Org', TimeZoneSidKey: options.timeZone ?? 'America/Los_Angeles' }];
      case 'Lead':
        return leads.map((l) => ({
          Id: l.Id,
          ConvertedOpportunityId: l.ConvertedOpportunityId,
          ConvertedContactId: l.ConvertedContactId,
          IsConverted: l.ConvertedOpportunityId !== null || l.ConvertedContactId !== null,
          CreatedDate: l.CreatedDate,
          [clickIdField]: l.clickId,
        }));
      case 'Contact':
        return [...contacts.values()].map(contactRow);
      case 'OpportunityContactRole':
        return roles
          .filter(
            (r) =>
              stored(r.OpportunityId) !== null &&
              (scanAll || !stored(r.OpportunityId)?.opportunity.IsDeleted),
          )
          .map((r) => {
            const contact = contacts.get(r.ContactId);
            return { ...r, Contact: contact ? contactRow(contact) : null };
          });
      default:
        throw new ApiError(400, 'INVALID_TYPE', `sObject type '${query.object}' is not supported.`);
    }
  }

  /** Just before the first row that `SystemModstamp >= t` lets through, or null (from the start). */
  function sinceOf(query: SoqlQuery): { t: number; id: string } | null {
    const since = query.where.find((w) => w.field === 'SystemModstamp' && w.op === '>=');
    return since ? { t: Date.parse(String(since.value)) - 1, id: '\uffff' } : null;
  }

  /** Salesforce's totalSize; counted without generating rows when only SystemModstamp >= t filters. */
  function countOpportunities(query: SoqlQuery, scanAll: boolean): number {
    const onlySince = query.where.every((w) => w.field === 'SystemModstamp' && w.op === '>=');
    if (!onlySince) {
      let n = 0;
      for (const o of opportunitiesInOrder(null)) if (visible(o, query, scanAll)) n++;
      return n;
    }
    const since = query.where.length > 0 ? Date.parse(String(query.where[0]?.value)) : -Infinity;
    let n = Math.max(0, count - Math.max(0, Math.ceil((since - base) / 1000)));
    for (const s of overrides.values()) {
      const i = indexOf(s.opportunity.Id);
      if (i !== null && base + i * 1000 >= since) n--;
      if (visible(s.opportunity, query, scanAll)) n++;
    }
    return n;
  }

  function startQuery(soql: string, scanAll: boolean): Locator {
    let query: SoqlQuery;
    try {
      query = parseSoql(soql);
    } catch (error) {
      if (error instanceof SoqlError) throw new ApiError(400, 'MALFORMED_QUERY', error.message);
      throw error;
    }
    checkFields(query.object, [
      ...query.fields,
      ...query.where.map((w) => w.field),
      ...query.orderBy.map((o) => o.field),
    ]);
    if (query.object === 'Opportunity') {
      const order = query.orderBy.map((o) => `${o.field}${o.desc ? ' DESC' : ''}`).join(', ');
      if (order !== 'SystemModstamp, Id') {
        throw new ApiError(
          400,
          'MALFORMED_QUERY',
          'the fake reads Opportunity ORDER BY SystemModstamp, Id only',
        );
      }
      return {
        query,
        scanAll,
        // SystemModstamp >= t starts the walk at t (as Salesforce's index on it does), not at row 0.
        after: sinceOf(query),
        rows: null,
        offset: 0,
        returned: 0,
        totalSize: countOpportunities(query, scanAll),
        replay: [],
      };
    }
    const rows = rowsOf(query, scanAll)
      .filter((r) => matches(r, query.where))
      .sort(compareBy(query.orderBy))
      .slice(0, query.limit ?? undefined);
    return { query, scanAll, after: null, rows, offset: 0, returned: 0, totalSize: rows.length, replay: [] };
  }

  function nextPage(locator: Locator): { records: Record<string, unknown>[]; done: boolean } {
    const { query } = locator;
    if (locator.rows) {
      const records = locator.rows
        .slice(locator.offset, locator.offset + pageSize)
        .map((r) => project(query.object, r, query.fields));
      locator.offset += records.length;
      return { records, done: locator.offset >= locator.rows.length };
    }
    const records: Record<string, unknown>[] = [...locator.replay];
    locator.replay = [];
    let more = false;
    for (const o of opportunitiesInOrder(locator.after)) {
      if (!visible(o, query, locator.scanAll)) continue;
      if (records.length === pageSize) {
        more = true;
        break;
      }
      records.push(project('Opportunity', opportunityRow(o), query.fields));
      locator.after = { t: modstampMs(o), id: o.Id };
    }
    const replay = options.replayRowsOnNextPage ?? 0;
    if (more && replay > 0) locator.replay = records.slice(-replay);
    return { records, done: !more };
  }

  function answerQuery(previousId: string | null, locator: Locator, path: string): unknown {
    if (previousId !== null) locators.delete(previousId);
    const { records, done } = nextPage(locator);
    if (done) return { totalSize: locator.totalSize, done: true, records };
    locator.returned += records.length;
    const id = `01g${++locatorSeq}-${locator.returned}`;
    locators.set(id, locator);
    return { totalSize: locator.totalSize, done: false, nextRecordsUrl: `${path}/${id}`, records };
  }

  // ---- HTTP ---------------------------------------------------------------------------------------

  function send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': typeof body === 'string' ? 'text/xml; charset=utf-8' : 'application/json;charset=UTF-8',
      ...headers,
    });
    res.end(text);
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  function issueToken(host: string): Record<string, string> {
    const accessToken = `${orgId}!${randomBytes(12).toString('hex')}`;
    validTokens.add(accessToken);
    const answer: Record<string, string> = {
      access_token: accessToken,
      instance_url: options.tokenInstanceUrl ?? instanceUrl,
      id: `http://${host}/id/${orgId}/${userId}`,
      token_type: 'Bearer',
      issued_at: String(Date.now()),
      signature: 'fake',
      scope: 'api refresh_token',
    };
    if (options.rotateRefreshToken) {
      currentRefreshToken = `rotated-${randomBytes(8).toString('hex')}`;
      answer.refresh_token = currentRefreshToken;
    }
    return answer;
  }

  function soapFault(res: ServerResponse, code: string, message: string): void {
    send(
      res,
      500,
      `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault><faultcode>sf:${code}</faultcode><faultstring>${code}: ${message}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
    );
  }

  function userInfoXml(): string {
    const currency = multiCurrency
      ? ''
      : options.defaultCurrency === undefined
        ? 'USD'
        : options.defaultCurrency;
    const fields: [string, string | null][] = [
      ['currencySymbol', multiCurrency ? null : '$'],
      ['orgDefaultCurrencyIsoCode', multiCurrency ? null : currency || null],
      ['organizationId', orgId],
      ['organizationMultiCurrency', String(multiCurrency)],
      ['organizationName', 'Fake Org'],
      ['userDefaultCurrencyIsoCode', multiCurrency ? 'USD' : null],
      ['userEmail', 'ops@example.com'],
      ['userFullName', 'Sales Ops'],
      ['userId', userId],
      ['userName', 'ops@example.com.fake'],
      ['userTimeZone', options.timeZone ?? 'America/Los_Angeles'],
    ];
    const xml = fields
      .map(([k, v]) => (v === null ? `<${k} xsi:nil="true"/>` : `<${k}>${v}</${k}>`))
      .join('');
    return `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><getUserInfoResponse><result>${xml}</result></getUserInfoResponse></soapenv:Body></soapenv:Envelope>`;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    requests.push(`${req.method} ${path}`);
    if (req.method === 'POST' && path === '/services/oauth2/token') {
      const form = new URLSearchParams(await readBody(req));
      if (form.get('grant_type') !== 'refresh_token') {
        return send(res, 400, {
          error: 'unsupported_grant_type',
          error_description: 'grant type not supported',
        });
      }
      if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) {
        return send(res, 400, { error: 'invalid_client_id', error_description: 'client identifier invalid' });
      }
      if (form.get('refresh_token') !== currentRefreshToken) {
        return send(res, 400, { error: 'invalid_grant', error_description: 'expired access/refresh token' });
      }
      return send(res, 200, issueToken(req.headers.host ?? '127.0.0.1'));
    }

    const apiBase = `/services/data/v${fakeApiVersion}`;
    if (req.method === 'POST' && path === `/services/Soap/u/${fakeApiVersion}`) {
      const body = await readBody(req);
      const session = /<sessionId>([^<]*)<\/sessionId>/.exec(body)?.[1] ?? '';
      if (!validTokens.has(session.replace(/&amp;/g, '&'))) {
        return soapFault(
          res,
          'INVALID_SESSION_ID',
          'Invalid Session ID found in SessionHeader: Illegal Session',
        );
      }
      used++;
      if (limitFailures > 0) {
        limitFailures--;
        return soapFault(res, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
      }
      if (!/<getUserInfo\s*\/?>/.test(body))
        return soapFault(res, 'INVALID_OPERATION', 'the fake answers getUserInfo only');
      return send(res, 200, userInfoXml());
    }

    if (!path.startsWith(apiBase)) return send(res, 404, [{ errorCode: 'NOT_FOUND', message: 'not found' }]);
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token || !validTokens.has(token)) {
      return send(res, 401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    }
    used++;
    const limitHeader = { 'sforce-limit-info': `api-usage=${used}/${apiLimit}` };
    if (limitFailures > 0) {
      limitFailures--;
      return send(
        res,
        403,
        [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }],
        limitHeader,
      );
    }
    try {
      const rest = path.slice(apiBase.length);
      const q = /^\/(query|queryAll)$/.exec(rest);
      if (req.method === 'GET' && q) {
        const soql = url.searchParams.get('q') ?? '';
        return send(
          res,
          200,
          answerQuery(null, startQuery(soql, q[1] === 'queryAll'), `${apiBase}/${q[1]}`),
          limitHeader,
        );
      }
      const more = /^\/(query|queryAll)\/([\w-]+)$/.exec(rest);
      if (req.method === 'GET' && more) {
        const locator = locators.get(more[2] as string);
        if (!locator) throw new ApiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
        return send(res, 200, answerQuery(more[2] as string, locator, `${apiBase}/${more[1]}`), limitHeader);
      }
      const describe = /^\/sobjects\/(\w+)\/describe$/.exec(rest);
      if (req.method === 'GET' && describe) {
        const fields = objectFields[describe[1] as string];
        if (!fields) throw new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
        return send(res, 200, { name: describe[1], fields: fields.map((name) => ({ name })) }, limitHeader);
      }
      throw new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    } catch (error) {
      if (error instanceof ApiError) {
        return send(res, error.status, [{ message: error.message, errorCode: error.errorCode }], limitHeader);
      }
      throw error;
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      send(res, 500, [{ errorCode: 'UNKNOWN_EXCEPTION', message: String(error) }]);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const instanceUrl = `http://127.0.0.1:${port}`;

  return {
    loginUrl: `http://localhost:${port}`,
    instanceUrl,
    clientId,
    clientSecret,
    refreshToken: () => currentRefreshToken,
    requests,
    apiUsage: () => used,
    opportunityId: opportunityIdFor,
    opportunity: (id) => {
      const s = stored(id);
      return s ? { ...s.opportunity } : null;
    },
    addOpportunity(fields) {
      const at = sfDateTime(now());
      const opportunity: FakeOpportunity = {
        Name: fields.Id,
        StageName: 'Prospecting',
        IsWon: false,
        IsClosed: false,
        IsDeleted: false,
        Amount: null,
        CloseDate: at.slice(0, 10),
        CurrencyIsoCode: 'USD',
        CreatedDate: at,
        clickId: null,
        ...fields,
        SystemModstamp: at,
      };
      const s: Stored = { opportunity, history: [] };
      historyRow(s, at);
      overrides.set(fields.Id, s);
    },
    win(id, stage = wonStage) {
      change(id, (s, at) => {
        Object.assign(s.opportunity, { StageName: stage, IsWon: true, IsClosed: true });
        historyRow(s, at);
      });
    },
    lose(id) {
      change(id, (s, at) => {
        Object.assign(s.opportunity, { StageName: 'Closed Lost', IsWon: false, IsClosed: true });
        historyRow(s, at);
      });
    },
    reopen(id) {
      change(id, (s, at) => {
        Object.assign(s.opportunity, { StageName: 'Negotiation', IsWon: false, IsClosed: false });
        historyRow(s, at);
      });
    },
    setAmount(id, amount) {
      change(id, (s, at) => {
        s.opportunity.Amount = amount;
        historyRow(s, at);
      });
    },
    setCurrency(id, currency) {
      change(id, (s) => {
        s.opportunity.CurrencyIsoCode = currency;
      });
    },
    setOpportunityClickId(id, clickId) {
      change(id, (s) => {
        s.opportunity.clickId = clickId;
      });
    },
    deleteOpportunity(id) {
      change(id, (s) => {
        s.opportunity.IsDeleted = true;
      });
    },
    addLead(lead) {
      leads.push({ ConvertedOpportunityId: null, ConvertedContactId: null, clickId: null, ...lead });
    },
    addContact(contact) {
      contacts.set(contact.Id, contact);
    },
    addContactRole(role) {
      roles.push({ Id: `00K${String(roles.length + 1).padStart(15, '0')}`, ...role });
    },
    expireAccessTokens() {
      validTokens.clear();
    },
    exceedRequestLimit(n) {
      limitFailures = n;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
