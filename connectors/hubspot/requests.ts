import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import PQueue from 'p-queue';
import { ConnectorError, type ConnectorEvents, guardRefusal } from '../deals.ts';

/** How the connector paces and retries its requests to one HubSpot portal. */
export interface RequestPolicy {
  /**
   * Requests per second per portal, in any rolling second. HubSpot allows 5 search requests/s per
   * account, shared by every app of the portal (crm-calltracking.md B); 4 leaves room for the others.
   * @default 4
   */
  requestsPerSecond: number;
  /** Attempts for a 5xx answer or a network failure before the sync fails (retryable). @default 4 */
  serverErrorAttempts: number;
  /** The first wait after a 5xx or a network failure, doubled at each attempt. @default 1000 */
  backoffMs: number;
  /** Consecutive 429 answers waited out (Retry-After) before the sync fails (retryable). @default 10 */
  rateLimitAttempts: number;
}

export const defaultRequestPolicy: RequestPolicy = {
  requestsPerSecond: 4,
  serverErrorAttempts: 4,
  backoffMs: 1000,
  rateLimitAttempts: 10,
};

/** Runs one SDK call: paced, counted, retried, and its failure turned into a ConnectorError. */
export type Requester = <T>(what: string, call: () => Promise<T>, signal?: AbortSignal) => Promise<T>;

/**
 * One limiter per portal (base URL and token), shared by every DealSource of that portal in this
 * process: two connectors on one portal together stay under the rate. The SDK's own Bottleneck
 * limiter is process-wide and follows the most recently created Client (hubspot-api-nodejs#416), so
 * it is not used.
 */
const limiters = new Map<string, { queue: PQueue; rate: number }>();

function limiterFor(portalKey: string, rate: number): PQueue {
  const known = limiters.get(portalKey);
  if (known && known.rate === rate) return known.queue;
  // A rolling window of 1.1 s: requests started 1 s apart can arrive closer together at HubSpot.
  const queue = new PQueue({ intervalCap: rate, interval: 1100, strict: true });
  limiters.set(portalKey, { queue, rate });
  return queue;
}

export function portalKey(baseUrl: string, token: string): string {
  return `${baseUrl} ${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
}

interface HttpFailure {
  code: number;
  body: unknown;
  headers: Record<string, string>;
}

/** The SDK's ApiException (code, body, headers), or a Response from `client.apiRequest`. */
function httpFailure(error: unknown): HttpFailure | null {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'number') {
    const e = error as { code: number; body?: unknown; headers?: Record<string, string> };
    return { code: e.code, body: e.body, headers: e.headers ?? {} };
  }
  return null;
}

function bodyMessage(body: unknown): string {
  if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string') {
    return body.message;
  }
  if (typeof body === 'string' && body.length > 0) return body.slice(0, 300);
  return '';
}

/** Retry-After in seconds (HubSpot sends seconds); an HTTP date is accepted too. */
export function retryAfterMs(headers: Record<string, string>, fallbackMs: number): number {
  const value = headers['retry-after'] ?? headers['Retry-After'];
  if (value === undefined) return fallbackMs;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? fallbackMs : Math.max(0, at - Date.now());
}

export function createRequester(options: {
  portalKey: string;
  policy: RequestPolicy;
  events: ConnectorEvents;
}): Requester {
  const { policy, events } = options;
  const queue = limiterFor(options.portalKey, policy.requestsPerSecond);
  return async function request<T>(what: string, call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    let rateLimited = 0;
    let failed = 0;
    for (;;) {
      signal?.throwIfAborted();
      try {
        return await queue.add(
          () => {
            events.onApiCall?.(what);
            return call();
          },
          { signal },
        );
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        const failure = httpFailure(error);
        if (failure?.code === 429) {
          rateLimited += 1;
          if (rateLimited >= policy.rateLimitAttempts) {
            throw new ConnectorError(
              'rate_limited',
              `HubSpot answered 429 (too many requests) ${rateLimited} times in a row to ${what}; the portal's other apps may be using its limit. The next sync tries again.`,
              { retryable: true, request: what, cause: error },
            );
          }
          const wait = retryAfterMs(failure.headers, 1000 * rateLimited);
          events.onWait?.(wait, `HubSpot 429 on ${what}: waiting Retry-After`);
          await sleep(wait, undefined, { signal });
          continue;
        }
        if (failure?.code === 401) {
          throw new ConnectorError(
            'unauthorized',
            `HubSpot refused the token (401) on ${what}: check the private app's access token and that it has the scopes crm.objects.deals.read and crm.objects.contacts.read, then store the new token.`,
            { retryable: false, request: what, cause: error },
          );
        }
        if (failure?.code === 403) {
          throw new ConnectorError(
            'forbidden',
            `HubSpot denied ${what} (403): give the private app the scopes crm.objects.deals.read and crm.objects.contacts.read. ${bodyMessage(failure.body)}`.trim(),
            { retryable: false, request: what, cause: error },
          );
        }
        if (failure?.code === 404) {
          throw new ConnectorError(
            'not_found',
            `HubSpot has no ${what} (404): ${bodyMessage(failure.body) || 'not found'}`,
            {
              retryable: false,
              request: what,
              cause: error,
            },
          );
        }
        if (failure && failure.code < 500) {
          throw new ConnectorError(
            'bad_request',
            `HubSpot rejected ${what} (${failure.code}): ${bodyMessage(failure.body) || 'no message'}`,
            { retryable: false, request: what, cause: error },
          );
        }
        const refusal = guardRefusal(error);
        if (refusal) {
          throw new ConnectorError(
            'private_address',
            `closeloop does not connect to this HubSpot address (${what}): ${refusal.message}`,
            { retryable: false, request: what, cause: error },
          );
        }
        // 5xx, or no answer at all (connection refused or reset, DNS): retried with backoff.
        failed += 1;
        const reason = failure
          ? `HubSpot answered ${failure.code}`
          : `no answer from HubSpot (${(error as Error).message})`;
        if (failed >= policy.serverErrorAttempts) {
          throw new ConnectorError(
            'unavailable',
            `${reason} to ${what}, ${failed} attempts; the next sync tries again.`,
            { retryable: true, request: what, cause: error },
          );
        }
        const wait = policy.backoffMs * 2 ** (failed - 1);
        events.onWait?.(wait, `${reason} on ${what}: retrying`);
        await sleep(wait, undefined, { signal });
      }
    }
  };
}
