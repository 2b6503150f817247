/**
 * One signed-in jsforce connection: the OAuth2 refresh-token flow against the login URL, tokens
 * handed to `events.onTokens` the moment jsforce refreshes them, one `events.onApiCall` per HTTP
 * request, API usage from Sforce-Limit-Info, back-off on REQUEST_LIMIT_EXCEEDED, and every failure
 * turned into one ConnectorError.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection, type QueryResult, type Record as SfRecord } from 'jsforce';
import { type ConnectionGuard, ConnectorError, type ConnectorEvents, guardRefusal } from '../deals.ts';
import { guardedAgent, guardTransport, type TransportLike } from './network.ts';
import type { SalesforceSecrets, SalesforceSettings } from './settings.ts';

/** Pinned: jsforce defaults to 50.0; 62.0 (Winter '25) has every field we read. */
export const salesforceApiVersion = '62.0';

export interface SessionTuning {
  /**
   * Waits before each retry after REQUEST_LIMIT_EXCEEDED (403: the org's rolling 24 h allocation or
   * its concurrent long-request limit, which jsforce never retries). One retry per entry.
   * @default [5_000, 30_000, 120_000]
   */
  limitBackoffMs?: number[];
}

export interface SalesforceSession {
  readonly conn: Connection;
  /** Signs in with the refresh token when there is no access token yet (first use). */
  signIn(signal?: AbortSignal): Promise<void>;
  /** The first page of a SOQL query (queryAll when scanAll: deleted rows too). */
  query<T extends SfRecord>(
    soql: string,
    options: { scanAll: boolean; signal?: AbortSignal },
  ): Promise<QueryResult<T>>;
  /** The page after `nextRecordsUrl`. */
  queryMore<T extends SfRecord>(nextRecordsUrl: string, signal?: AbortSignal): Promise<QueryResult<T>>;
  /** Any other call through jsforce, with the same limits and errors. */
  call<T>(request: string, run: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

type RequestLike = { method: string; url: string };

/** "GET /services/data/v62.0/query": never the query string (it may carry oauth_token). */
function describeRequest(req: RequestLike): string {
  try {
    return `${req.method} ${new URL(req.url).pathname}`;
  } catch {
    return `${req.method} ${req.url.split('?')[0]}`;
  }
}

/** Counts every HTTP request jsforce makes through this transport, token refreshes included. */
function countRequests(transport: TransportLike, events: ConnectorEvents): void {
  const httpRequest = transport.httpRequest.bind(transport);
  transport.httpRequest = (req, options) => {
    events.onApiCall?.(describeRequest(req));
    return httpRequest(req, options);
  };
}

function errorCode(error: unknown): string | undefined {
  if (error && typeof error === 'object') {
    const e = error as { errorCode?: unknown; name?: unknown };
    // SOAP faults carry a namespace prefix: "sf:REQUEST_LIMIT_EXCEEDED".
    if (typeof e.errorCode === 'string') return e.errorCode.replace(/^\w+:/, '');
    if (typeof e.name === 'string') return e.name.replace(/^\w+:/, '');
  }
  return undefined;
}

/** No answer at all (jsforce has already retried GETs 5 times); a refresh wraps it in its own message. */
function networkError(message: string): boolean {
  return /fetch failed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|socket hang up/i.test(message);
}

export function createSalesforceSession(options: {
  settings: SalesforceSettings;
  secrets: SalesforceSecrets;
  events?: ConnectorEvents;
  tuning?: SessionTuning;
  guard: ConnectionGuard;
}): SalesforceSession {
  const { settings, secrets, guard } = options;
  const events = options.events ?? {};
  const backoff = options.tuning?.limitBackoffMs ?? [5_000, 30_000, 120_000];
  const conn = new Connection({
    version: salesforceApiVersion,
    loginUrl: settings.loginUrl,
    oauth2: { loginUrl: settings.loginUrl, clientId: settings.clientId, clientSecret: secrets.clientSecret },
    refreshToken: secrets.refreshToken,
    ...(secrets.accessToken && secrets.instanceUrl
      ? { accessToken: secrets.accessToken, instanceUrl: secrets.instanceUrl }
      : {}),
  });
  // Guarded first, counted after: a request the guard refuses still counts as one attempted.
  const agent = guardedAgent(guard);
  // The guard's refusal of the current call's requests (jsforce's refresh keeps only its message).
  let refused: Error | undefined;
  for (const transport of [conn._transport, conn.oauth2._transport] as unknown as TransportLike[]) {
    guardTransport(transport, agent, (refusal) => {
      refused = refusal;
    });
    countRequests(transport, events);
  }

  // jsforce refreshes on a 401, retries the request and emits 'refresh'. Its refresh function keeps the
  // old refresh token; an org with refresh-token rotation sends a new one, which must replace it.
  let pendingTokens: Promise<void> = Promise.resolve();
  // The instance URL comes from the token answer and every later request goes there: one the guard
  // refuses is not stored (its requests are refused at connection anyway, names included).
  let refusedInstance: Error | undefined;
  conn.on('refresh', (accessToken: string, res?: { refresh_token?: string; instance_url?: string }) => {
    refusedInstance = instanceRefusal(res?.instance_url ?? conn.instanceUrl);
    if (refusedInstance) return;
    if (res?.refresh_token) conn.refreshToken = res.refresh_token;
    const tokens = {
      accessToken,
      instanceUrl: res?.instance_url ?? conn.instanceUrl,
      ...(res?.refresh_token ? { refreshToken: res.refresh_token } : {}),
    };
    pendingTokens = pendingTokens.then(() => events.onTokens?.(tokens));
  });

  function instanceRefusal(instanceUrl: string | undefined): Error | undefined {
    if (!instanceUrl) return undefined;
    try {
      guard.checkLiteral(new URL(instanceUrl).hostname);
      return undefined;
    } catch (err) {
      return new ConnectorError(
        'private_address',
        `Salesforce's token answer names the instance URL ${instanceUrl}, and closeloop does not connect there: ${(err as Error).message}`,
        { retryable: false, cause: err },
      );
    }
  }

  let lastUsage = '';
  function reportUsage(): void {
    const usage = conn.limitInfo.apiUsage;
    if (!usage) return;
    const key = `${usage.used}/${usage.limit}`;
    if (key === lastUsage) return;
    lastUsage = key;
    events.onUsage?.(usage.used, usage.limit);
  }

  function toConnectorError(error: unknown, request: string): ConnectorError {
    if (error instanceof ConnectorError) return error;
    if (refusedInstance) return refusedInstance as ConnectorError;
    const refusal = guardRefusal(error) ?? refused;
    if (refusal) {
      return new ConnectorError(
        'private_address',
        `closeloop does not connect to this Salesforce address: ${refusal.message}`,
        { retryable: false, request, cause: error },
      );
    }
    const code = errorCode(error);
    const message = error instanceof Error ? error.message : String(error);
    if (code === 'INVALID_FIELD' && message.includes(settings.clickIdField)) {
      const object = /entity '(\w+)'/.exec(message)?.[1] ?? 'Opportunity, Lead or Contact';
      return new ConnectorError(
        'click_id_field_missing',
        `Salesforce has no field ${settings.clickIdField} on ${object} (or this user cannot see it). Create it in Setup → Object Manager → ${object} → Fields & Relationships → New (Text, 255, API name ${settings.clickIdField}) on Lead, Contact and Opportunity, make it visible to the connected user's profile (field-level security), or give the connector the right name with --click-id-field.`,
        { retryable: false, request, cause: error },
      );
    }
    if (
      networkError(message) ||
      /^ERROR_HTTP_5\d\d$/.test(code ?? '') ||
      code === 'SERVER_UNAVAILABLE' ||
      code === 'UNKNOWN_EXCEPTION'
    ) {
      return new ConnectorError(
        'unreachable',
        `Salesforce did not answer (${message}); the next sync tries again.`,
        {
          retryable: true,
          request,
          cause: error,
        },
      );
    }
    if (/Unable to refresh session|invalid_grant|invalid_client/i.test(`${code} ${message}`)) {
      return new ConnectorError(
        'auth_failed',
        `Salesforce refused the refresh token (${message}). Get a new refresh token for the connected app (docs/crm-salesforce.md, "Get a refresh token") and store it with the connector's --refresh-token-env.`,
        { retryable: false, request, cause: error },
      );
    }
    if (code === 'REQUEST_LIMIT_EXCEEDED') {
      return new ConnectorError(
        'rate_limited',
        `Salesforce says REQUEST_LIMIT_EXCEEDED after ${backoff.length} retries (${message}): the org's API allocation or its concurrent-request limit is used up. The next sync tries again; Setup → Company Information shows the org's API usage.`,
        { retryable: true, request, cause: error },
      );
    }
    return new ConnectorError('request_failed', `Salesforce answered ${code ?? 'an error'}: ${message}`, {
      retryable: false,
      request,
      cause: error,
    });
  }

  async function call<T>(request: string, run: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      refused = undefined;
      try {
        const result = await run();
        reportUsage();
        await pendingTokens;
        return result;
      } catch (error) {
        reportUsage();
        await pendingTokens;
        const wait = backoff[attempt];
        if (errorCode(error) === 'REQUEST_LIMIT_EXCEEDED' && wait !== undefined) {
          events.onWait?.(wait, 'Salesforce REQUEST_LIMIT_EXCEEDED');
          await sleep(wait, undefined, signal ? { signal } : undefined);
          continue;
        }
        throw toConnectorError(error, request);
      }
    }
  }

  /** "GET /services/data/v62.0/queryAll?q=SELECT Id, … FROM Opportunity WHERE …" (shortened). */
  const queryRequest = (scanAll: boolean, soql: string) =>
    `GET /services/data/v${salesforceApiVersion}/${scanAll ? 'queryAll' : 'query'}?q=${soql.length > 160 ? `${soql.slice(0, 160)}…` : soql}`;

  return {
    conn,
    async signIn(signal) {
      if (conn.accessToken && conn.instanceUrl) return;
      const delegate = conn._refreshDelegate;
      if (!delegate) throw new Error('jsforce has no refresh delegate: oauth2.clientId is missing');
      await call(
        `POST ${new URL('/services/oauth2/token', settings.loginUrl).pathname}`,
        () => delegate.refresh(Date.now()),
        signal,
      );
      if (refusedInstance) throw refusedInstance;
    },
    query: <T extends SfRecord>(
      soql: string,
      { scanAll, signal }: { scanAll: boolean; signal?: AbortSignal },
    ) =>
      call(
        queryRequest(scanAll, soql),
        // conn.request, not conn.query: jsforce's Query rewrites nextRecordsUrl to /query/<locator> and
        // its autoFetch stops silently at maxFetch; here each page is one request and the caller pages on.
        async () =>
          await conn.request<QueryResult<T>>(
            `/${scanAll ? 'queryAll' : 'query'}?q=${encodeURIComponent(soql)}`,
          ),
        signal,
      ),
    queryMore: <T extends SfRecord>(nextRecordsUrl: string, signal?: AbortSignal) =>
      call(
        `GET ${nextRecordsUrl}`,
        // Exactly the URL Salesforce gave (…/queryAll/01g…-2000 for a queryAll): jsforce's queryMore(locator)
        // would rebuild it as …/query/<locator>.
        async () => await conn.request<QueryResult<T>>(nextRecordsUrl),
        signal,
      ),
    call,
  };
}
