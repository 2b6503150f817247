import { randomInt, randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { apiRoutes } from './api.ts';
import type { EmulatorEnv } from './call.ts';
import { controlRoutes } from './control.ts';
import { createDiagnosticsStore } from './diagnostics.ts';
import { createFaultInjector, seededRandom } from './fault-injector.ts';
import { createGoalStore } from './goals.ts';
import { goalWarmUpMs } from './items.ts';
import { createLedger } from './ledger.ts';
import { oauthRoutes } from './oauth.ts';
import { createRecorder, recordedHeaders, recordedResponse } from './recorder.ts';
import { createThrottle } from './throttle.ts';
import { createTokenStore } from './tokens.ts';
import type { Emulator, EmulatorOptions, EmulatorStats } from './types.ts';

/*
 * A Microsoft Advertising stand-in: the Campaign Management REST operations closeloop calls, the identity
 * platform's token endpoint, and /_emulator/* to drive it. Everything is in memory. Tests, the benchmark
 * and the no-credentials dry run all talk to it through real HTTP (or `fetch`, with no socket).
 */

export { malformedRequestCode } from './faults.ts';
export type * from './types.ts';

const zeroStats = (): EmulatorStats => ({
  calls: 0,
  throttled: 0,
  faults: 0,
  itemsReceived: 0,
  accepted: 0,
  rejectedItems: 0,
  duplicatesIgnored: 0,
  adjustments: 0,
  storedThenFailed: 0,
  maxCallsInAnyMinute: 0,
});

function checkOptions(o: EmulatorOptions): void {
  const bad = (name: string, expected: string, got: unknown) =>
    new TypeError(`Emulator option ${name} must be ${expected}; got ${JSON.stringify(got)}`);
  const positiveInteger = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  if (o.callsPerMinute !== undefined && !positiveInteger(o.callsPerMinute))
    throw bad('callsPerMinute', 'a positive integer', o.callsPerMinute);
  if (
    o.throttleStatus !== undefined &&
    !(Number.isInteger(o.throttleStatus) && o.throttleStatus >= 400 && o.throttleStatus <= 599)
  )
    throw bad('throttleStatus', 'an HTTP error status (400-599)', o.throttleStatus);
  if (o.auth !== undefined && o.auth !== 'open' && o.auth !== 'strict')
    throw bad('auth', "'open' or 'strict'", o.auth);
  if (o.accessTokenTtlSeconds !== undefined && !positiveInteger(o.accessTokenTtlSeconds))
    throw bad('accessTokenTtlSeconds', 'a positive integer', o.accessTokenTtlSeconds);
  if (o.latencyMs !== undefined && !(typeof o.latencyMs === 'number' && o.latencyMs >= 0))
    throw bad('latencyMs', 'a number ≥ 0', o.latencyMs);
  if (o.seed !== undefined && !Number.isInteger(o.seed)) throw bad('seed', 'an integer', o.seed);
  if (o.goalWarmUpMs !== undefined && !(Number.isInteger(o.goalWarmUpMs) && o.goalWarmUpMs >= 0))
    throw bad('goalWarmUpMs', 'a whole number of ms ≥ 0', o.goalWarmUpMs);
}

export function createEmulator(options: EmulatorOptions = {}): Emulator {
  checkOptions(options);
  const now = options.now ?? (() => new Date());
  const record = options.record ?? 'all';
  const recorder = createRecorder(record);
  let stats = zeroStats();
  const goals = createGoalStore();
  const ledger = createLedger(options.keepItems ?? record !== 'none');
  const clicks = new Map<string, number>();
  const poisoned = new Set<string>();
  const diagnostics = createDiagnosticsStore();
  const tokens = createTokenStore({
    auth: options.auth ?? 'strict',
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 3600,
    rotateRefreshTokens: options.rotateRefreshTokens ?? true,
    revokeRotated: options.revokeRotated ?? false,
  });
  const throttle = createThrottle(options.callsPerMinute);
  const faults = createFaultInjector(seededRandom(options.seed ?? randomInt(2 ** 31)));

  const app = new Hono<EmulatorEnv>();
  app.use(async (c, next) => {
    const trackingId = randomUUID();
    c.set('trackingId', trackingId);
    c.header('TrackingId', trackingId);
    await next();
    if (!recorder.enabled || c.req.path.startsWith('/_emulator/')) return;
    recorder.add({
      at: now(),
      method: c.req.method,
      path: c.req.path,
      headers: recordedHeaders(c.req.raw.headers),
      body: c.get('recordBody'),
      status: c.res.status,
      response: await recordedResponse(c.res),
    });
  });
  // The operations read `stats` through this object, so reset() can swap in fresh counters.
  const deps = {
    goals,
    ledger,
    clicks,
    poisoned,
    get stats() {
      return stats;
    },
    tokens,
    throttle,
    faults,
    now,
    throttleStatus: options.throttleStatus ?? 429,
    latencyMs: options.latencyMs ?? 0,
    goalWarmUpMs: options.goalWarmUpMs ?? goalWarmUpMs,
    diagnostics,
  };
  app.route('/', apiRoutes(deps));
  app.route('/', oauthRoutes(tokens, now));
  app.notFound((c) => c.json({ error: `No emulated endpoint ${c.req.method} ${c.req.path}.` }, 404));
  // A bug in the emulator answers like Microsoft's own internal errors, which clients retry.
  app.onError((err, c) =>
    c.json(
      { Type: 'AdCenterInternalErrorFault', TrackingId: c.get('trackingId'), Message: String(err) },
      500,
    ),
  );

  const emulator: Emulator = {
    app: app as unknown as Hono,
    fetch: async (request) => app.fetch(request),
    addGoal: (spec) => ({ id: goals.addSpec(spec, now()).id }),
    goals: (customerId) => goals.list(customerId),
    setAutoTagging: (_customerId, accountId, enabled) => goals.setAutoTagging(accountId, enabled),
    addClick(clickId, at) {
      const ms = new Date(at).getTime();
      if (Number.isNaN(ms)) throw new TypeError(`addClick: at must be a date; got ${JSON.stringify(at)}`);
      clicks.set(clickId.toLowerCase(), ms);
    },
    issueRefreshToken: (opts) => tokens.issueRefreshToken(opts?.clientId),
    revokeRefreshToken: (token) => tokens.revokeRefreshToken(token),
    expireAccessTokens: () => tokens.expireAccessTokens(),
    injectFault: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    poisonClickId: (clickId) => {
      poisoned.add(clickId.toLowerCase());
    },
    get requests() {
      return recorder.list();
    },
    conversions: () => ledger.conversions.values(),
    adjustments: () => ledger.adjustments.values(),
    conversionSummary: () => ledger.summary(),
    holdsConversion(q) {
      const goal = goals.byName(q.customerId, q.conversionName);
      const ms = Date.parse(q.conversionTime);
      if (!goal || Number.isNaN(ms) || !/^[0-9a-f]{32}$/i.test(q.microsoftClickId)) return false;
      return ledger.conversions.has(
        ledger.conversionKey(q.accountId, goal.id, q.microsoftClickId.toLowerCase(), ms),
      );
    },
    stats: () => ({ ...stats, maxCallsInAnyMinute: throttle.maxInAnyWindow() }),
    reset() {
      stats = zeroStats();
      goals.reset();
      ledger.reset();
      clicks.clear();
      poisoned.clear();
      diagnostics.reset();
      tokens.reset();
      throttle.reset();
      faults.clear();
      recorder.clear();
    },
  };
  app.route('/_emulator', controlRoutes(emulator));
  return emulator;
}
