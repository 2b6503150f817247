import type { Logger } from '../log.ts';
import { bareFault, codeFault, type Fault, faultFrom, isObject, parseJson, tokenFault } from './classify.ts';
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
  type WireGetOfflineConversionReportByGoalIdsResponse,
  type WireGetOfflineConversionReportsResponse,
  type WireOfflineConversion,
  type WireOfflineConversionAdjustment,
  type WireUploadChannel,
} from './wire.ts';

export type { Fault } from './classify.ts';

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
  /** Microsoft's daily summary of the account's offline conversion uploads (all goals). */
  getOfflineConversionReports(range: DateRange): Promise<CallResult<WireGetOfflineConversionReportsResponse>>;
  /** Per goal and day: how many conversions Microsoft counted and why it could not attribute the others. */
  getOfflineConversionReportByGoalIds(
    request: DateRange & { goalIds: string[]; uploadChannel?: WireUploadChannel },
  ): Promise<CallResult<WireGetOfflineConversionReportByGoalIdsResponse>>;
  setAutoTagging(enabled: boolean): Promise<CallResult<true>>;
}

/** A range of UTC days, both ends included. */
export interface DateRange {
  start: Date;
  end: Date;
}

/** A day as Microsoft's date-time fields take it: midnight UTC, whole seconds. */
const utcDay = (d: Date) => `${d.toISOString().slice(0, 10)}T00:00:00Z`;

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
    getOfflineConversionReports: ({ start, end }) =>
      call(paths.getOfflineConversionReports, { StartDateUtc: utcDay(start), EndDateUtc: utcDay(end) }),
    getOfflineConversionReportByGoalIds: ({ start, end, goalIds, uploadChannel }) =>
      call(paths.getOfflineConversionReportByGoalIds, {
        StartDateUtc: utcDay(start),
        EndDateUtc: utcDay(end),
        GoalIds: goalIds,
        ...(uploadChannel ? { UploadChannelFilter: uploadChannel } : {}),
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
