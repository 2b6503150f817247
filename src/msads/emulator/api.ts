import { type Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { paths } from '../wire.ts';
import { applyOfflineConversionAdjustments } from './adjustments.ts';
import type { Answer, Call, EmulatorEnv } from './call.ts';
import { applyOfflineConversions, type OperationDeps } from './conversions.ts';
import type { FaultInjector, Operation } from './fault-injector.ts';
import { adApiFault, apiFault, internalErrorFault, malformedRequest } from './faults.ts';
import {
  addConversionGoals,
  getAccountProperties,
  getConversionGoalsByIds,
  setAccountProperties,
  updateConversionGoals,
} from './goal-operations.ts';
import type { Throttle } from './throttle.ts';
import type { TokenStore } from './tokens.ts';
import type { FaultSpec } from './types.ts';

/*
 * The Campaign Management REST operations: authentication, the required headers, the call-rate limit and
 * injected faults, in that order, then the operation itself (msads-api.md §3, §5).
 */

export interface ApiDeps extends OperationDeps {
  tokens: TokenStore;
  throttle: Throttle;
  faults: FaultInjector;
  now: () => Date;
  throttleStatus: number;
  latencyMs: number;
}

/** Resolves after `ms`, or at once when the client goes away; the timer never outlives the request. */
function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

const numeric = /^\d+$/;
const defaultHangMs = 120_000;

export function apiRoutes(deps: ApiDeps): Hono<EmulatorEnv> {
  const app = new Hono<EmulatorEnv>();
  const operations: [path: string, operation: Operation, run: (call: Call, body: unknown) => Answer][] = [
    [paths.applyOfflineConversions, 'conversions', (call, body) => applyOfflineConversions(deps, call, body)],
    [
      paths.applyOfflineConversionAdjustments,
      'adjustments',
      (call, body) => applyOfflineConversionAdjustments(deps, call, body),
    ],
    [paths.addConversionGoals, 'goals', (call, body) => addConversionGoals(deps.goals, call, body)],
    [paths.getConversionGoalsByIds, 'goals', (call, body) => getConversionGoalsByIds(deps.goals, call, body)],
    [
      paths.getAccountProperties,
      'accountProperties',
      (call, body) => getAccountProperties(deps.goals, call, body),
    ],
    [paths.getOfflineConversionReports, 'reports', (call, body) => deps.diagnostics.reports(call, body)],
    [
      paths.getOfflineConversionReportByGoalIds,
      'reports',
      (call, body) => deps.diagnostics.reportsByGoalIds(deps.goals, call, body),
    ],
    [
      paths.setAccountProperties,
      'accountProperties',
      (call, body) => setAccountProperties(deps.goals, call, body),
    ],
  ];
  for (const [path, operation, run] of operations) app.post(path, (c) => handle(c, deps, operation, run));
  app.put(paths.addConversionGoals, (c) =>
    handle(c, deps, 'goals', (call, body) => updateConversionGoals(deps.goals, call, body)),
  );
  return app;
}

const send = (c: Context<EmulatorEnv>, answer: Answer) =>
  answer.raw
    ? c.body(
        answer.raw.text,
        answer.status as ContentfulStatusCode,
        answer.raw.contentType ? { 'Content-Type': answer.raw.contentType } : {},
      )
    : c.json(answer.body as object, answer.status as ContentfulStatusCode);

async function handle(
  c: Context<EmulatorEnv>,
  deps: ApiDeps,
  operation: Operation,
  run: (call: Call, body: unknown) => Answer,
): Promise<Response> {
  deps.stats.calls++;
  const trackingId = c.get('trackingId');
  const text = await c.req.text();
  let body: unknown;
  let unreadable = false;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
    unreadable = true;
  }
  c.set('recordBody', body);
  const nowMs = deps.now().getTime();

  const auth = deps.tokens.check(c.req.header('Authorization'), nowMs);
  if (auth !== 0) return send(c, adApiFault(401, trackingId, auth));
  if (!c.req.header('DeveloperToken'))
    return send(c, adApiFault(400, trackingId, 116, 'The DeveloperToken header is missing.'));
  const customerId = c.req.header('CustomerId');
  if (!customerId) return send(c, adApiFault(400, trackingId, 1029));
  if (!numeric.test(customerId)) return send(c, adApiFault(400, trackingId, 1490));
  const accountId = c.req.header('CustomerAccountId');
  if (!accountId) return send(c, adApiFault(400, trackingId, 1030));
  if (!numeric.test(accountId)) return send(c, adApiFault(400, trackingId, 1102));

  if (!deps.throttle.admit(customerId, nowMs)) {
    deps.stats.throttled++;
    return send(c, adApiFault(deps.throttleStatus, trackingId, 117));
  }
  const signal = c.req.raw.signal;
  if (deps.latencyMs > 0) await wait(deps.latencyMs, signal);

  const call: Call = { customerId, accountId, trackingId, nowMs };
  const apply = () =>
    unreadable ? malformedRequest(trackingId, 'The request body is not JSON.') : run(call, body);
  const fault = deps.faults.take(operation);
  if (fault) {
    deps.stats.faults++;
    return send(c, await faultAnswer(fault, deps, trackingId, apply, signal));
  }
  return send(c, apply());
}

async function faultAnswer(
  fault: FaultSpec,
  deps: ApiDeps,
  trackingId: string,
  apply: () => Answer,
  signal: AbortSignal | undefined,
): Promise<Answer> {
  // Items a faulted call stored anyway: the client will send them again (stats.storedThenFailed).
  const applyUnanswered = () => {
    const before = deps.ledger.conversions.size() + deps.ledger.adjustments.size();
    apply();
    deps.stats.storedThenFailed += deps.ledger.conversions.size() + deps.ledger.adjustments.size() - before;
  };
  switch (fault.kind) {
    case 'http500':
      return internalErrorFault(trackingId);
    case 'applied500':
      applyUnanswered();
      return internalErrorFault(trackingId);
    case 'error0':
      return apiFault(500, trackingId, 0);
    case '5612':
      return apiFault(500, trackingId, 5612);
    case '109':
      deps.tokens.expireAccessTokens();
      return adApiFault(401, trackingId, 109);
    case '117':
      return adApiFault(deps.throttleStatus, trackingId, 117);
    case 'apiFault':
      return apiFault(fault.status ?? 400, trackingId, fault.code ?? 0);
    case 'http404html':
      return {
        status: 404,
        body: null,
        raw: {
          contentType: 'text/html; charset=utf-8',
          text: '<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body></html>\n',
        },
      };
    case 'empty200':
      return { status: 200, body: null, raw: { text: '', contentType: 'application/json' } };
    case 'garbage200':
      // An answer cut short in transit: the start of Microsoft's JSON, and nothing after.
      return {
        status: 200,
        body: null,
        raw: { text: '{"PartialErrors":[{"Code":56', contentType: 'application/json' },
      };
    case 'timeout':
      // A response lost after Microsoft applied the batch: the items are stored, the client never hears.
      if (fault.applyBeforeHang) applyUnanswered();
      await wait(fault.hangMs ?? defaultHangMs, signal);
      return {
        status: 504,
        body: {
          Type: 'AdCenterInternalErrorFault',
          TrackingId: trackingId,
          Message: 'The request timed out.',
        },
      };
  }
}
