/**
 * ResponseTap: no push, a pull API polled on a schedule (../shared/reference/calltracking-payloads.md §5).
 *
 * What is known: ✔ the API lives at `https://dashboard.responsetap.com/api/1/accounts/{accountId}/…` with
 * HTTP Basic auth (geraintp/laravel-responsetap config/responsetap.php, src/ResponseTap.php: username + key;
 * a TS client gist sends `Basic base64(secret)`). ⚠ Second-hand PHP (re-read through the search tool):
 * `GET …/cdrids?fromDate=YYYY-MM-DD&toDate=YYYY-MM-DD` answers `{"cdrUniqueIds": […]}` and
 * `GET …/calls/{id}` answers the call with `campaignName`, `mediumName`, `customerNumber`, `disposition`;
 * a JS client searches cdrids by `CUSTOMER_NUMBER`. No push/postback, no paging parameters, and no
 * start-time, duration, landing-URL or click-ID field names are public (searched: code and pages corpora).
 *
 * So the poller lists call ids one day at a time (one list request per day from the cursor's day to
 * today, UTC dates), fetches each new call's detail, and reads it with the names below: `customerNumber`
 * and `disposition` as seen, the rest ⚠ our best reading, each overridable with the source's `fields`
 * option once a real `calls/{id}` body has been seen. Offset-less times are read in the source's
 * `timeZone` (ResponseTap is British: Europe/London); epoch seconds/milliseconds by magnitude.
 *
 * The cursor is `{"day":"YYYY-MM-DD","seen":[ids of that day already read]}`: each poll lists that day
 * again (the overlap: a call finished after the last poll still turns up) and fetches details only for
 * ids it has not read; days before it are complete.
 */
import { ConnectorError } from '../deals.ts';
import { type CallMapping, mapCall } from './call-mapping.ts';
import { adapterResult, CallInputError, readValues } from './parse.ts';
import type { AdapterOptions, CallAdapter, CallPoller, NormalizedCall } from './types.ts';

export const responsetapMapping: CallMapping = {
  names: {
    providerCallId: ['cdrUniqueId', 'callId', 'id'],
    startUtc: ['startTimeUtc', 'callStartTimeUtc'],
    startLocal: ['startTime', 'callStartTime', 'dateTime'],
    durationSec: ['duration', 'callDuration'],
    talkSec: ['talkTime', 'connectedDuration'],
    answered: ['disposition'],
    callerE164: ['customerNumber'],
    value: ['value', 'revenue'],
    currency: ['currency'],
    msclkid: ['msclkid', 'visit.msclkid'],
    landingUrl: ['landingPage', 'landingPageUrl', 'visit.landingPage'],
  },
};

/** The public API; tests pass their fake's address as `baseUrl`. */
export const responsetapBaseUrl = 'https://dashboard.responsetap.com';

/** serve polls each ResponseTap source every 15 minutes. */
const intervalMs = 15 * 60 * 1000;

/** Detail requests in flight at once (the public TS client uses p-limit(2)). */
const concurrency = 2;

interface Cursor {
  day: string;
  seen: string[];
}

function readCursor(cursor: string | null, now: Date): Cursor {
  if (cursor === null) return { day: utcDay(new Date(now.getTime() - intervalMs)), seen: [] };
  try {
    const parsed = JSON.parse(cursor) as Cursor;
    if (/^\d{4}-\d{2}-\d{2}$/.test(parsed.day) && Array.isArray(parsed.seen)) return parsed;
  } catch {
    // falls through to the error below
  }
  throw new ConnectorError(
    'bad_cursor',
    `ResponseTap cursor ${JSON.stringify(cursor)} is not one this poller wrote`,
    {
      retryable: false,
    },
  );
}

const utcDay = (date: Date) => date.toISOString().slice(0, 10);

function daysFrom(first: string, last: string): string[] {
  const days: string[] = [];
  for (
    let day = new Date(`${first}T00:00:00Z`);
    utcDay(day) <= last;
    day = new Date(day.getTime() + 86_400_000)
  ) {
    days.push(utcDay(day));
  }
  return days;
}

async function getJson(
  fetch: typeof globalThis.fetch,
  url: string,
  path: string,
  authorization: string,
  accountId: string,
  signal: AbortSignal | undefined,
): Promise<unknown> {
  const request = `GET ${path}`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { authorization, accept: 'application/json' }, signal });
  } catch (error) {
    throw new ConnectorError('network', `ResponseTap could not be reached (${(error as Error).message})`, {
      retryable: true,
      request,
      cause: error,
    });
  }
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw new ConnectorError(
      'auth',
      `ResponseTap refused the credentials for account ${accountId} (HTTP ${response.status}): check the source's API key and account id (ResponseTap dashboard → Integrations → API)`,
      { retryable: false, request },
    );
  }
  if (!response.ok) {
    const detail = (await response.text()).slice(0, 200);
    throw new ConnectorError(
      'http',
      `ResponseTap answered HTTP ${response.status} to ${request}: ${detail}`,
      {
        retryable: response.status === 429 || response.status >= 500,
        request,
      },
    );
  }
  const body = await response.text();
  try {
    return JSON.parse(body);
  } catch {
    throw new ConnectorError(
      'bad_response',
      `ResponseTap answered ${request} with something that is not JSON`,
      {
        retryable: true,
        request,
      },
    );
  }
}

export const responsetapPoller: CallPoller = {
  intervalMs,
  async poll({ fetch, credentials, baseUrl, cursor, now, adapter, signal }) {
    const { apiKey, accountId, username } = credentials;
    if (!apiKey || !accountId) {
      throw new ConnectorError('credentials', 'ResponseTap needs the credentials apiKey and accountId', {
        retryable: false,
      });
    }
    const secret = username ? `${username}:${apiKey}` : apiKey;
    const authorization = `Basic ${Buffer.from(secret).toString('base64')}`;
    const root = `${(baseUrl ?? responsetapBaseUrl).replace(/\/$/, '')}/api/1/accounts/${encodeURIComponent(accountId)}`;
    const from = readCursor(cursor, now);
    const today = utcDay(now);
    // The later of the cursor's day and today (a clock set back never re-reads finished days).
    const lastDay = [from.day, today].sort()[1]!;
    const calls: NormalizedCall[] = [];
    let seenToday: string[] = [];
    for (const day of daysFrom(from.day, lastDay)) {
      const path = `/cdrids?fromDate=${day}&toDate=${day}`;
      const list = (await getJson(fetch, root + path, path, authorization, accountId, signal)) as {
        cdrUniqueIds?: unknown;
      };
      if (!Array.isArray(list?.cdrUniqueIds)) {
        throw new ConnectorError(
          'bad_response',
          `ResponseTap answered GET ${path} without a cdrUniqueIds list`,
          {
            retryable: false,
            request: `GET ${path}`,
          },
        );
      }
      const ids = list.cdrUniqueIds.map(String);
      const skip = new Set(day === from.day ? from.seen : []);
      const fresh = ids.filter((id) => !skip.has(id));
      for (let start = 0; start < fresh.length; start += concurrency) {
        const batch = fresh.slice(start, start + concurrency);
        const details = await Promise.all(
          batch.map((id) => {
            const detailPath = `/calls/${encodeURIComponent(id)}`;
            return getJson(fetch, root + detailPath, detailPath, authorization, accountId, signal);
          }),
        );
        for (const [index, detail] of details.entries())
          calls.push(readDetail(batch[index]!, detail, adapter));
      }
      if (day === lastDay) seenToday = [...new Set([...skip, ...ids])];
    }
    const next: Cursor = { day: lastDay, seen: seenToday };
    return { calls, cursor: JSON.stringify(next) };
  },
};

function withId(id: string, detail: unknown): unknown {
  if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) return detail;
  return { cdrUniqueId: id, ...detail };
}

/** One `calls/{id}` body as a call; the list's id stands in when the body has none. */
function readDetail(id: string, detail: unknown, adapter: AdapterOptions): NormalizedCall {
  const result = responsetap.parse(
    {
      method: 'GET',
      headers: { 'content-type': 'application/json' },
      body: new TextEncoder().encode(JSON.stringify(withId(id, detail))),
      query: {},
    },
    adapter,
  );
  if (result.ok) return result.calls[0]!;
  // A call that cannot be read stops the poll (and stays visible as the source's error) rather than being lost.
  throw new ConnectorError('bad_call', `ResponseTap call ${id}: ${result.reason}`, {
    retryable: false,
    request: `GET /calls/${id}`,
  });
}

export const responsetap: CallAdapter = {
  provider: 'responsetap',
  methods: [],
  auth: 'polled',
  /** Reads one `calls/{id}` response body (JSON), whatever the request's method. */
  parse: (request, options) =>
    adapterResult(() => {
      if (request.body.length === 0) throw new CallInputError('empty ResponseTap call body');
      const values = readValues({ ...request, method: 'POST', query: {} });
      return [mapCall(values, responsetapMapping, options)];
    }),
  poller: responsetapPoller,
};
