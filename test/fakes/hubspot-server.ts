import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { comparable, effective, type Filter, list, matches, objectOut, scramble } from './hubspot-objects.ts';
import { type FakeDeal, FakeStore, type StoreOptions } from './hubspot-store.ts';

export { fakeContact, fakeDeal } from './hubspot-objects.ts';
export type { FakeContact, FakeDeal } from './hubspot-store.ts';

/**
 * A fake HubSpot on loopback for the connector's tests and the CRM benchmark, driven through the real
 * @hubspot/api-client. It answers exactly the endpoints the connector calls, in HubSpot's shapes (the
 * SDK's codegen models): CRM search with its 10,000-result cap and 200-per-page limit, basic get and
 * list (archived, propertiesWithHistory), batch reads (at most 50 inputs with histories), v4
 * associations, account-info, the company currency and properties. 401 for another token; 429 with
 * Retry-After on a rate of its own.
 */
export interface FakeHubspotOptions extends StoreOptions {
  /** @default 'fake-hubspot-token' */
  token?: string;
  portalId?: number;
  /** @default 'US/Eastern' */
  timeZone?: string;
  /** In account-info (null: absent there, then only the currencies endpoint has it). @default 'USD' */
  companyCurrency?: string | null;
  /** The currencies endpoint's answer; null answers 403 (no settings scope). @default companyCurrency */
  currencyEndpoint?: string | null;
  /** Properties that exist, by object type. @default { deals: ['msclkid'], contacts: ['msclkid'] } */
  customProperties?: { deals: string[]; contacts: string[] };
  /** Answer 429 when more than this many requests arrive in a rolling second. */
  maxPerSecond?: number;
  /** Answer 429 to every Nth request. */
  tooManyEvery?: number;
  /** Retry-After of a 429, in seconds. @default 1 */
  retryAfterSeconds?: number;
}

export interface FakeHubspot {
  url: string;
  token: string;
  store: FakeStore;
  /** Requests answered, as "METHOD /path" (query left off), 429s and 401s included. */
  requests: string[];
  /** Arrival times (ms) of the requests. */
  arrivals: number[];
  /** The next `count` requests answer `status` (a 5xx by default). */
  failNext(count: number, status?: number): void;
  close(): Promise<void>;
}

const searchCap = 10_000;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

function error(
  res: ServerResponse,
  status: number,
  category: string,
  message: string,
  headers?: Record<string, string>,
) {
  send(
    res,
    status,
    { status: 'error', message, correlationId: '00000000-0000-0000-0000-000000000000', category },
    headers,
  );
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

export async function startFakeHubspot(options: FakeHubspotOptions = {}): Promise<FakeHubspot> {
  const token = options.token ?? 'fake-hubspot-token';
  const store = new FakeStore(options);
  const companyCurrency = options.companyCurrency === undefined ? 'USD' : options.companyCurrency;
  const currencyEndpoint =
    options.currencyEndpoint === undefined ? companyCurrency : options.currencyEndpoint;
  const custom = options.customProperties ?? { deals: ['msclkid'], contacts: ['msclkid'] };
  const requests: string[] = [];
  const arrivals: number[] = [];
  let failures: { count: number; status: number } = { count: 0, status: 502 };
  let counter = 0;
  /** The sorted ids of the last search (paging through one query costs one sort). */
  let cached: { key: string; version: number; ids: Float64Array } | null = null;

  function search(body: Record<string, unknown>, res: ServerResponse) {
    const limit = Number(body.limit ?? 10);
    const after = Number(body.after ?? 0);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
      return error(res, 400, 'VALIDATION_ERROR', `limit must be from 1 to 200, got ${String(body.limit)}`);
    }
    if (after >= searchCap) {
      return error(
        res,
        400,
        'VALIDATION_ERROR',
        `The search API returns at most ${searchCap} results: paging past them is refused (after=${after})`,
      );
    }
    const groups = (body.filterGroups ?? []) as { filters: Filter[] }[];
    const sorts = ((body.sorts ?? []) as (string | { propertyName: string; direction?: string })[]).map(
      (s) =>
        typeof s === 'string'
          ? { propertyName: s.replace(/^-/, ''), descending: s.startsWith('-') }
          : { propertyName: s.propertyName, descending: s.direction === 'DESCENDING' },
    );
    if (sorts.length > 1) return error(res, 400, 'VALIDATION_ERROR', 'Only one sort is allowed');
    const key = JSON.stringify({ groups, sorts });
    if (!cached || cached.key !== key || cached.version !== store.version) {
      const found: { id: number; primary: number | string; tie: number }[] = [];
      const sort = sorts[0];
      for (const deal of store.liveDeals()) {
        if (groups.length > 0 && !groups.some((g) => g.filters.every((f) => matches(deal, f)))) continue;
        const id = Number(deal.id);
        const value = sort ? effective(deal, sort.propertyName) : deal.id;
        found.push({
          id,
          primary:
            value === null
              ? Number.POSITIVE_INFINITY
              : comparable(sort?.propertyName ?? 'hs_object_id', value),
          tie: scramble(id),
        });
      }
      const direction = sort?.descending ? -1 : 1;
      found.sort((a, b) =>
        a.primary < b.primary ? -direction : a.primary > b.primary ? direction : a.tie - b.tie,
      );
      cached = { key, version: store.version, ids: Float64Array.from(found, (f) => f.id) };
    }
    const properties = (body.properties as string[] | undefined) ?? [];
    const ids = cached.ids.subarray(after, after + limit);
    const results = [...ids].map((id) => objectOut(store.live(String(id)) as FakeDeal, properties, []));
    const next =
      after + limit < cached.ids.length ? { paging: { next: { after: String(after + limit) } } } : {};
    send(res, 200, { total: cached.ids.length, results, ...next });
  }

  function batchRead(
    objectType: 'deals' | 'contacts',
    body: Record<string, unknown>,
    archived: boolean,
    res: ServerResponse,
  ) {
    const inputs = (body.inputs ?? []) as { id: string }[];
    const properties = (body.properties as string[] | undefined) ?? [];
    const withHistory = (body.propertiesWithHistory as string[] | undefined) ?? [];
    if (inputs.length > 100)
      return error(res, 400, 'VALIDATION_ERROR', 'The maximum number of inputs in a batch request is 100');
    if (withHistory.length > 0 && inputs.length > 50) {
      return error(
        res,
        400,
        'VALIDATION_ERROR',
        'The maximum number of inputs supported in a batch request for property histories is 50. Please reduce the number of items and try again',
      );
    }
    const results = [];
    const missing: string[] = [];
    for (const { id } of inputs) {
      const object =
        objectType === 'contacts' ? store.contact(id) : archived ? store.archived(id)?.deal : store.live(id);
      if (object) results.push(objectOut(object, properties, withHistory));
      else missing.push(id);
    }
    const now = new Date().toISOString();
    const answer = { status: 'COMPLETE', results, startedAt: now, completedAt: now };
    if (missing.length === 0) return send(res, 200, answer);
    send(res, 207, {
      ...answer,
      numErrors: 1,
      errors: [
        {
          status: 'error',
          category: 'OBJECT_NOT_FOUND',
          message: 'Could not get some objects, they may be deleted or not exist.',
          context: { ids: missing },
        },
      ],
    });
  }

  function associationsOf(dealId: string, after: number, limit: number) {
    const deal = store.live(dealId);
    const all = deal?.contacts ?? [];
    const to = all.slice(after, after + limit).map((c) => ({
      toObjectId: Number(c.id),
      associationTypes: [
        { category: 'HUBSPOT_DEFINED', typeId: 3, label: null },
        ...(c.label ? [{ category: 'USER_DEFINED', typeId: 100, label: c.label }] : []),
      ],
    }));
    return { to, next: after + limit < all.length ? String(after + limit) : null };
  }

  async function route(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    requests.push(`${method} ${path}`);
    const now = Date.now();
    arrivals.push(now);
    if (req.headers.authorization !== `Bearer ${token}`) {
      return error(
        res,
        401,
        'INVALID_AUTHENTICATION',
        'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
      );
    }
    counter += 1;
    const retryAfter = { 'retry-after': String(options.retryAfterSeconds ?? 1) };
    const inLastSecond = arrivals.filter((t) => t > now - 1000).length;
    if (
      (options.tooManyEvery && counter % options.tooManyEvery === 0) ||
      (options.maxPerSecond && inLastSecond > options.maxPerSecond)
    ) {
      return send(
        res,
        429,
        {
          status: 'error',
          message: 'You have reached your secondly limit.',
          errorType: 'RATE_LIMIT',
          policyName: 'SECONDLY',
          category: 'RATE_LIMITS',
        },
        retryAfter,
      );
    }
    if (failures.count > 0) {
      failures.count -= 1;
      return error(res, failures.status, 'INTERNAL_ERROR', 'Internal error (fake)');
    }
    const properties = list(url.searchParams.getAll('properties').join(','));
    const withHistory = list(url.searchParams.getAll('propertiesWithHistory').join(','));
    const archived = url.searchParams.get('archived') === 'true';
    const on = (verb: string, pattern: RegExp) => (method === verb ? pattern.exec(path) : null);
    if (method === 'POST' && path === '/crm/v3/objects/deals/search') return search(await readJson(req), res);
    const m1 = on('POST', /^\/crm\/v3\/objects\/(deals|contacts)\/batch\/read$/);
    if (m1) {
      return batchRead(m1[1] as 'deals' | 'contacts', await readJson(req), archived, res);
    }
    if (method === 'GET' && path === '/crm/v3/objects/deals') {
      const limit = Math.min(Number(url.searchParams.get('limit') ?? 10), withHistory.length > 0 ? 50 : 100);
      const after = Number(url.searchParams.get('after') ?? 0);
      const rows: { deal: FakeDeal; archivedAt?: Date }[] = [];
      let index = 0;
      const source = archived
        ? store.archivedList()
        : (function* () {
            for (const deal of store.liveDeals()) yield { deal };
          })();
      for (const row of source) {
        if (index >= after && rows.length < limit + 1) rows.push(row);
        index += 1;
        if (rows.length > limit) break;
      }
      const page = rows.slice(0, limit).map((r) => objectOut(r.deal, properties, withHistory, r.archivedAt));
      return send(res, 200, {
        results: page,
        ...(rows.length > limit ? { paging: { next: { after: String(after + limit) } } } : {}),
      });
    }
    const m2 = on('GET', /^\/crm\/v3\/objects\/deals\/(\d+)$/);
    if (m2) {
      const row = archived
        ? store.archived(m2[1] as string)
        : { deal: store.live(m2[1] as string), archivedAt: undefined };
      if (!row?.deal)
        return error(res, 404, 'OBJECT_NOT_FOUND', `Object not found.  objectId are usually numeric.`);
      return send(res, 200, objectOut(row.deal, properties, withHistory, row.archivedAt));
    }
    if (method === 'POST' && path === '/crm/v4/associations/deals/contacts/batch/read') {
      const inputs = ((await readJson(req)).inputs ?? []) as { id: string; after?: string }[];
      if (inputs.length > 1000)
        return error(res, 400, 'VALIDATION_ERROR', 'Batch read is limited to 1000 inputs');
      const results = [];
      const none: string[] = [];
      for (const input of inputs) {
        const { to, next } = associationsOf(input.id, Number(input.after ?? 0), 500);
        if (to.length === 0) none.push(input.id);
        else
          results.push({
            from: { id: input.id },
            to,
            ...(next ? { paging: { next: { after: next } } } : {}),
          });
      }
      const now = new Date().toISOString();
      const answer = { status: 'COMPLETE', results, startedAt: now, completedAt: now };
      if (none.length === 0) return send(res, 200, answer);
      return send(res, 207, {
        ...answer,
        numErrors: none.length,
        errors: none.map((id) => ({
          status: 'error',
          category: 'OBJECT_NOT_FOUND',
          subCategory: 'crm.associations.NO_ASSOCIATIONS_FOUND',
          message: `No contacts are associated with deal ${id}.`,
          context: { fromObjectId: [id] },
        })),
      });
    }
    const m3 = on('GET', /^\/crm\/v4\/objects\/deals\/(\d+)\/associations\/contacts$/);
    if (m3) {
      const { to, next } = associationsOf(
        m3[1] as string,
        Number(url.searchParams.get('after') ?? 0),
        Math.min(Number(url.searchParams.get('limit') ?? 500), 500),
      );
      return send(res, 200, { results: to, ...(next ? { paging: { next: { after: next } } } : {}) });
    }
    if (method === 'GET' && path === '/account-info/v3/details') {
      return send(res, 200, {
        portalId: options.portalId ?? 123456,
        accountType: 'STANDARD',
        timeZone: options.timeZone ?? 'US/Eastern',
        ...(companyCurrency ? { companyCurrency } : {}),
        additionalCurrencies: [],
        utcOffset: '-05:00',
        utcOffsetMilliseconds: -18_000_000,
        uiDomain: 'app.hubspot.com',
        dataHostingLocation: 'na1',
      });
    }
    if (method === 'GET' && path === '/settings/v3/currencies/company-currency') {
      if (!currencyEndpoint)
        return error(
          res,
          403,
          'MISSING_SCOPES',
          "This app hasn't been granted all required scopes to make this call.",
        );
      return send(res, 200, { currencyCode: currencyEndpoint, currencyName: currencyEndpoint });
    }
    const m4 = on('GET', /^\/crm\/v3\/properties\/(deals|contacts)\/([^/]+)$/);
    if (m4) {
      const objectType = m4[1] as 'deals' | 'contacts';
      const name = decodeURIComponent(m4[2] as string);
      if (!custom[objectType].includes(name))
        return error(
          res,
          404,
          'OBJECT_NOT_FOUND',
          `Unable to find property ${name} for object type ${objectType}`,
        );
      return send(res, 200, {
        name,
        label: name,
        type: 'string',
        fieldType: 'text',
        groupName: `${objectType.slice(0, -1)}information`,
        options: [],
        hidden: false,
        formField: true,
      });
    }
    error(res, 404, 'OBJECT_NOT_FOUND', `fake HubSpot does not serve ${method} ${path}`);
  }

  const server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => error(res, 500, 'INTERNAL_ERROR', String(e)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    store,
    requests,
    arrivals,
    failNext(count, status = 502) {
      failures = { count, status };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
