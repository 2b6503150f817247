import type { Logger } from '../log.ts';
import { type ErrorClass, errorInfo } from './error-codes.ts';
import type { AccessTokenSource } from './oauth.ts';
import {
  autoTaggingProperty,
  offlineGoalTypes,
  paths,
  trackingIdHeader,
  type WireAccountProperty,
  type WireAddConversionGoalsResponse,
  type WireApplyResponse,
  type WireBatchError,
  type WireConversionGoal,
  type WireGetConversionGoalsResponse,
  type WireOfflineConversion,
  type WireOfflineConversionAdjustment,
} from './wire.ts';

export interface MsadsClientOptions {
  /** Campaign Management host, e.g. https://campaign.api.bingads.microsoft.com or the emulator's URL. */
  baseUrl: string;
  developerToken: string;
  /** Microsoft's customer (manager) id and ad account id: the CustomerId and CustomerAccountId headers. */
  customerId: string;
  accountId: string;
  tokens: AccessTokenSource;
  /** Injected so the in-process emulator can answer without a socket; default globalThis.fetch. */
  fetch?: (request: Request) => Promise<Response>;
  /**
   * A call that has not answered by then is abandoned and counts as transient.
   * @default 60000
   */
  timeoutMs?: number;
  log?: Logger;
}

/** Why a whole call failed, classified for the submitter (see error-codes.ts for the classes). */
export interface Fault {
  class: ErrorClass;
  /** Microsoft's numeric code when the body had one; undefined for timeouts, network and bare HTTP errors. */
  code: number | undefined;
  name: string;
  message: string;
  httpStatus: number | undefined;
  trackingId: string | undefined;
  /** From a Retry-After header, when the answer had one. */
  retryAfterMs: number | undefined;
  /** Per-item errors that came inside a whole-request fault (ApiFaultDetail.BatchErrors). */
  batchErrors: WireBatchError[];
}

export type CallResult<T> =
  | { ok: true; body: T; trackingId: string | undefined; httpStatus: number }
  | { ok: false; fault: Fault };

export class MsadsError extends Error {
  override name = 'MsadsError';
  readonly fault: Fault;
  constructor(fault: Fault) {
    super(
      `Microsoft Advertising answered ${fault.code !== undefined ? `${fault.code} ${fault.name}` : fault.name}: ${fault.message}${fault.trackingId ? ` (TrackingId ${fault.trackingId})` : ''}`,
    );
    this.fault = fault;
  }
}

export interface MsadsClient {
  applyOfflineConversions(items: WireOfflineConversion[]): Promise<CallResult<WireApplyResponse>>;
  applyOfflineConversionAdjustments(
    items: WireOfflineConversionAdjustment[],
  ): Promise<CallResult<WireApplyResponse>>;
  addConversionGoals(goals: WireConversionGoal[]): Promise<CallResult<WireAddConversionGoalsResponse>>;
  /** Change goals that exist (by Id): status, conversion window, count type. */
  updateConversionGoals(
    goals: (Pick<WireConversionGoal, 'Type' | 'Id'> & Partial<WireConversionGoal>)[],
  ): Promise<CallResult<WireApplyResponse>>;
  /** All offline goals visible to the account when `ids` is omitted. */
  getConversionGoalsByIds(ids?: string[]): Promise<CallResult<WireGetConversionGoalsResponse>>;
  getAutoTagging(): Promise<CallResult<boolean>>;
  setAutoTagging(enabled: boolean): Promise<CallResult<true>>;
}

/** The Campaign Management v13 REST client: documented headers, PascalCase JSON, TrackingId logged. */
export function createMsadsClient(options: MsadsClientOptions): MsadsClient {
  const send = options.fetch ?? ((request: Request) => fetch(request));
  const timeoutMs = options.timeoutMs ?? 60_000;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');

  async function call<T>(
    path: string,
    body: unknown,
    method: 'POST' | 'PUT' = 'POST',
  ): Promise<CallResult<T>> {
    let result = await once<T>(path, body, false, method);
    // 109: the access token expired early (revoked, clock skew); refresh it and resend once.
    if (!result.ok && result.fault.class === 'token_expired')
      result = await once<T>(path, body, true, method);
    return result;
  }

  async function once<T>(
    path: string,
    body: unknown,
    forceRefresh: boolean,
    method: 'POST' | 'PUT',
  ): Promise<CallResult<T>> {
    let token: string;
    try {
      token = await options.tokens.accessToken({ forceRefresh });
    } catch (err) {
      return { ok: false, fault: tokenFault(err) };
    }
    const started = Date.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await send(
        new Request(`${baseUrl}${path}`, {
          method,
          headers: {
            Authorization: `Bearer ${token}`,
            DeveloperToken: options.developerToken,
            CustomerId: options.customerId,
            CustomerAccountId: options.accountId,
            'Content-Type': 'application/json',
            Accept: 'application/json',
          },
          body: JSON.stringify(body),
          signal: controller.signal,
        }),
      );
      text = await response.text();
      // A handler that answers after the abort (an in-process one ignores the signal) is still a timeout.
      if (controller.signal.aborted) throw controller.signal.reason;
    } catch (err) {
      const timedOut = controller.signal.aborted;
      options.log?.warn('Microsoft Advertising call failed', {
        path,
        ms: Date.now() - started,
        error: timedOut ? `no answer within ${timeoutMs} ms` : (err as Error).message,
      });
      return {
        ok: false,
        fault: bareFault(
          timedOut ? 'Timeout' : 'NetworkError',
          timedOut
            ? `no answer within ${timeoutMs} ms; the batch is sent again later (Microsoft ignores duplicates)`
            : `could not reach ${baseUrl}: ${(err as Error).message}`,
        ),
      };
    } finally {
      clearTimeout(timer);
    }
    const trackingId = response.headers.get(trackingIdHeader) ?? undefined;
    const parsed = parseJson(text);
    options.log?.debug('Microsoft Advertising call', {
      path,
      status: response.status,
      trackingId,
      ms: Date.now() - started,
    });
    if (response.ok && isObject(parsed))
      return { ok: true, body: parsed as T, trackingId, httpStatus: response.status };
    const fault = faultFrom(response, parsed, text, trackingId, `${baseUrl}${path}`);
    options.log?.warn('Microsoft Advertising refused a call', {
      path,
      status: response.status,
      code: fault.code,
      error: fault.name,
      trackingId: fault.trackingId,
    });
    return { ok: false, fault };
  }

  return {
    applyOfflineConversions: (items) => call(paths.applyOfflineConversions, { OfflineConversions: items }),
    applyOfflineConversionAdjustments: (items) =>
      call(paths.applyOfflineConversionAdjustments, { OfflineConversionAdjustments: items }),
    addConversionGoals: (goals) => call(paths.addConversionGoals, { ConversionGoals: goals }),
    updateConversionGoals: (goals) => call(paths.addConversionGoals, { ConversionGoals: goals }, 'PUT'),
    getConversionGoalsByIds: (ids) =>
      call(paths.getConversionGoalsByIds, {
        ...(ids && ids.length > 0 ? { ConversionGoalIds: ids } : {}),
        ConversionGoalTypes: offlineGoalTypes,
      }),
    async getAutoTagging() {
      const r = await call<{ AccountProperties?: WireAccountProperty[] | null }>(paths.getAccountProperties, {
        AccountPropertyNames: [autoTaggingProperty],
      });
      if (!r.ok) return r;
      const value = r.body.AccountProperties?.find((p) => p.Name === autoTaggingProperty)?.Value;
      return { ...r, body: String(value).toLowerCase() === 'true' };
    },
    async setAutoTagging(enabled) {
      const r = await call<{ PartialErrors?: WireBatchError[] | null }>(paths.setAccountProperties, {
        AccountProperties: [{ Name: autoTaggingProperty, Value: enabled ? 'True' : 'False' }],
      });
      if (!r.ok) return r;
      const error = r.body.PartialErrors?.[0];
      if (error)
        return {
          ok: false,
          fault: codeFault(error.Code, error.ErrorCode, error.Message, r.httpStatus, r.trackingId),
        };
      return { ...r, body: true };
    },
  };
}

/** The body of a successful call, or an MsadsError for callers that do not handle faults case by case. */
export function unwrap<T>(result: CallResult<T>): T {
  if (!result.ok) throw new MsadsError(result.fault);
  return result.body;
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

interface FaultBody {
  TrackingId?: string;
  OperationErrors?: { Code: number; ErrorCode?: string; Message?: string }[] | null;
  Errors?: { Code: number; ErrorCode?: string; Message?: string }[] | null;
  BatchErrors?: WireBatchError[] | null;
  Message?: string;
  Type?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The `Type` of Microsoft's whole-request faults (msads-api.md §3). */
const microsoftFaultTypes = new Set([
  'ApiFaultDetail',
  'AdApiFaultDetail',
  'AdCenterAuthenticationFault',
  'AdCenterAuthorizationFault',
  'AdCenterInternalErrorFault',
  'AdCenterSystemFault',
  'ApplicationFault',
]);

/** A fault body in Microsoft's shape: one of its fault types, or its error lists. */
function isMicrosoftFault(body: FaultBody): boolean {
  return (
    (typeof body.Type === 'string' && microsoftFaultTypes.has(body.Type)) ||
    Array.isArray(body.OperationErrors) ||
    Array.isArray(body.Errors) ||
    Array.isArray(body.BatchErrors)
  );
}

/** "text/html" from "text/html; charset=utf-8", for messages. */
function contentType(response: Response): string {
  return response.headers.get('content-type')?.split(';')[0]?.trim() || 'with no content type';
}

/** The start of a body, on one line, for a message that shows what came back instead of Microsoft's answer. */
function beginning(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat === '') return 'The body was empty.';
  return `It began: "${flat.length > 120 ? `${flat.slice(0, 120)}…` : flat}"`;
}

const checkBaseUrl =
  "check MSADS_API_BASE_URL (or the account's API base URL, `closeloop accounts list`) and any proxy in between";

function faultFrom(
  response: Response,
  parsed: unknown,
  text: string,
  headerTrackingId: string | undefined,
  url: string,
): Fault {
  const status = response.status;
  const body = (isObject(parsed) ? parsed : {}) as FaultBody;
  const trackingId = headerTrackingId ?? (typeof body.TrackingId === 'string' ? body.TrackingId : undefined);
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  const common = { code: undefined, httpStatus: status, trackingId, retryAfterMs, batchErrors: [] };
  const answered = `the API answered ${status} ${contentType(response)} from ${url}`;
  if (response.ok)
    // A 2xx closeloop cannot read (empty, cut short, not JSON): whether Microsoft applied the batch is
    // unknown, and resending is safe (Microsoft ignores a repeated goal, click ID and time).
    return {
      ...common,
      class: 'transient',
      name: 'UnreadableAnswer',
      message: `${answered} that closeloop cannot read; it is sent again with backoff (if this persists, ${checkBaseUrl}). ${beginning(text)}`,
    };
  if (!isMicrosoftFault(body)) {
    // Not Microsoft's answer: a wrong host or path (404 HTML), or a proxy or gateway in between. It says
    // nothing about the rows, so none is rejected: gateway errors and timeouts are retried, a body too
    // large is halved, rate limits pause, and anything else pauses the account until it is fixed.
    const cls: ErrorClass =
      status === 429
        ? 'throttle'
        : status >= 500 || status === 408
          ? 'transient'
          : status === 413
            ? 'too_large'
            : 'unrecognized';
    return {
      ...common,
      class: cls,
      name: `HTTP ${status}`,
      message: `${answered}, which is not Microsoft Advertising's answer: ${cls === 'unrecognized' ? checkBaseUrl : 'closeloop tries again'}. ${beginning(text)}`,
    };
  }
  const batchErrors = body.BatchErrors ?? [];
  const first = body.OperationErrors?.[0] ?? body.Errors?.[0];
  if (first && typeof first.Code === 'number') {
    const fault = codeFault(first.Code, first.ErrorCode, first.Message, status, trackingId);
    return { ...fault, retryAfterMs, batchErrors };
  }
  const message = body.Message ?? (text.slice(0, 300) || response.statusText);
  // Microsoft's fault with no code: the HTTP status decides. 429 is throttling (treated like 117), 401/403
  // an account problem, 5xx transient; per-item BatchErrors are mapped item by item by the caller; a
  // refusal that names nothing is not understood, so the account pauses rather than lose rows.
  const cls: ErrorClass =
    status === 429
      ? 'throttle'
      : status >= 500
        ? 'transient'
        : status === 401 || status === 403
          ? 'account'
          : batchErrors.length > 0
            ? 'permanent'
            : status === 413
              ? 'too_large'
              : 'unrecognized';
  return {
    ...common,
    class: cls,
    name: body.Type ?? `HTTP ${status}`,
    message: `HTTP ${status}: ${message}`,
    batchErrors,
  };
}

function codeFault(
  code: number,
  errorCode: string | undefined,
  message: string | undefined,
  httpStatus: number | undefined,
  trackingId: string | undefined,
): Fault {
  const info = errorInfo(code, errorCode);
  return {
    class: info.class,
    code,
    name: errorCode || info.name,
    message: message ? `${message} — ${info.explain}` : info.explain,
    httpStatus,
    trackingId,
    retryAfterMs: undefined,
    batchErrors: [],
  };
}

function bareFault(name: string, message: string): Fault {
  return {
    class: 'transient',
    code: undefined,
    name,
    message,
    httpStatus: undefined,
    trackingId: undefined,
    retryAfterMs: undefined,
    batchErrors: [],
  };
}

/** A token that cannot be had: re-consent is an account problem; anything else is worth retrying. */
function tokenFault(err: unknown): Fault {
  const e = err as { message?: string; retryable?: boolean; name?: string };
  return {
    ...bareFault(
      e.name === 'ReconsentNeededError' ? 'ReconsentNeeded' : 'TokenUnavailable',
      e.message ?? String(err),
    ),
    class: e.retryable ? 'transient' : 'account',
  };
}

/** Retry-After is seconds or an HTTP date. */
function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
