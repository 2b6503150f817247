import { type ErrorClass, errorInfo } from './error-codes.ts';
import type { WireBatchError } from './wire.ts';

/*
 * What an answer of the Campaign Management API means, when it is not a plain success: Microsoft's
 * faults by their code (error-codes.ts), and answers that are not Microsoft's by their HTTP status.
 */

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

export function parseJson(text: string): unknown {
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

export const isObject = (v: unknown): v is Record<string, unknown> =>
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

export function faultFrom(
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

export function codeFault(
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

export function bareFault(name: string, message: string): Fault {
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
export function tokenFault(err: unknown): Fault {
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
