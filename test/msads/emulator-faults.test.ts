import { describe, expect, it } from 'vitest';
import { paths } from '../../src/msads/wire.ts';
import { accountId, apiHeaders, clickId, conversion, customerId, setup } from './emulator-helpers.ts';

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('emulator: call-rate limit', () => {
  it('answers 117 to the call past callsPerMinute in a sliding 60 s, does not process it, and recovers', async () => {
    const { emulator, apply, clock } = setup({ callsPerMinute: 3 });
    for (let i = 0; i < 3; i++) {
      expect((await apply([conversion({ MicrosoftClickId: clickId(i) })])).status).toBe(200);
      clock.advance(10_000);
    }
    const refused = await apply([conversion({ MicrosoftClickId: clickId(9) })]);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({
      Type: 'AdApiFaultDetail',
      Errors: [{ Code: 117, ErrorCode: 'CallRateExceeded' }],
    });
    expect(emulator.conversions()).toHaveLength(3);

    // The first call (t0) leaves the window at t0 + 60 s; now is t0 + 30 s.
    clock.advance(29_999);
    expect((await apply([conversion()])).status).toBe(429);
    clock.advance(1);
    expect((await apply([conversion({ MicrosoftClickId: clickId(9) })])).status).toBe(200);
    expect(emulator.conversions()).toHaveLength(4);
    expect(emulator.stats()).toMatchObject({ calls: 6, throttled: 2, maxCallsInAnyMinute: 3 });
  });

  it('counts each CustomerId on its own and uses throttleStatus', async () => {
    const { apply } = setup({ callsPerMinute: 1, throttleStatus: 400 });
    expect((await apply([conversion()])).status).toBe(200);
    expect((await apply([conversion()], { CustomerId: '1001' })).status).toBe(200);
    const refused = await apply([conversion()]);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ Errors: [{ Code: 117 }] });
  });

  it('tracks the most calls in any 60 s even without a limit', async () => {
    const { emulator, apply, clock } = setup();
    for (let i = 0; i < 5; i++) {
      await apply([conversion()]);
      clock.advance(20_000);
    }
    expect(emulator.stats().maxCallsInAnyMinute).toBe(3);
  });
});

describe('emulator: injected faults', () => {
  it.each([
    ['http500', 500, { Type: 'AdCenterInternalErrorFault' }],
    [
      'error0',
      500,
      { Type: 'ApiFaultDetail', OperationErrors: [{ Code: 0, ErrorCode: 'InternalError' }], BatchErrors: [] },
    ],
    [
      '5612',
      500,
      {
        Type: 'ApiFaultDetail',
        OperationErrors: [{ Code: 5612, ErrorCode: 'OfflineConversionsApplyFailed' }],
      },
    ],
    ['109', 401, { Type: 'AdApiFaultDetail', Errors: [{ Code: 109 }] }],
    ['117', 429, { Type: 'AdApiFaultDetail', Errors: [{ Code: 117 }] }],
  ] as const)(
    '%s answers HTTP %i, stores nothing, and hits only the next call by default',
    async (kind, status, body) => {
      const { emulator, apply } = setup();
      emulator.injectFault({ kind });
      const res = await apply([conversion()]);
      expect(res.status).toBe(status);
      const json = await res.json();
      expect(json).toMatchObject(body);
      expect(json.TrackingId).toBe(res.headers.get('TrackingId'));
      expect(emulator.conversions()).toEqual([]);
      expect(emulator.stats()).toMatchObject({ faults: 1, accepted: 0 });
      // 109 expired the token the call carried; a new one (after a refresh) goes through.
      const next = await apply([conversion()], kind === '109' ? { Authorization: 'Bearer refreshed' } : {});
      expect(next.status).toBe(200);
      if (kind === '109') expect((await apply([conversion()])).status).toBe(401);
    },
  );

  it('hits the next N matching calls of one operation only', async () => {
    const { emulator, apply, adjust, call } = setup();
    emulator.injectFault({ kind: 'error0', operation: 'conversions', count: 2 });
    const goalsCall = await call(paths.getConversionGoalsByIds, { ConversionGoalTypes: 'OfflineConversion' });
    expect(goalsCall.status).toBe(200);
    expect((await adjust([{}])).status).toBe(200);
    expect((await apply([conversion()])).status).toBe(500);
    expect((await apply([conversion()])).status).toBe(500);
    expect((await apply([conversion()])).status).toBe(200);
    emulator.injectFault({ kind: 'http500', operation: 'goals', count: 1 });
    expect((await apply([conversion()])).status).toBe(200);
    emulator.clearFaults();
    expect(emulator.stats().faults).toBe(2);
  });

  it('hits calls with probability rate, the same calls for the same seed', async () => {
    const pattern = async (seed: number) => {
      const { emulator, apply } = setup({ seed, record: 'none' });
      emulator.injectFault({ kind: '5612', rate: 0.3 });
      const statuses: number[] = [];
      for (let i = 0; i < 200; i++) statuses.push((await apply([conversion()])).status);
      return statuses;
    };
    const a = await pattern(7);
    const failed = a.filter((s) => s === 500).length;
    expect(failed).toBeGreaterThan(35);
    expect(failed).toBeLessThan(85);
    expect(await pattern(7)).toEqual(a);
    expect(await pattern(8)).not.toEqual(a);
  });

  it('refuses bad fault specs with a TypeError naming the field', () => {
    const { emulator } = setup();
    expect(() => emulator.injectFault({ kind: 'boom' as never })).toThrow(/kind/);
    expect(() => emulator.injectFault({ kind: 'http500', rate: 2 })).toThrow(/rate/);
    expect(() => emulator.injectFault({ kind: 'http500', count: 0 })).toThrow(/count/);
    expect(() => emulator.injectFault({ kind: 'apiFault' })).toThrow(/code must be an integer error code/);
    expect(() => emulator.injectFault({ kind: 'apiFault', code: 113, status: 200 })).toThrow(/status/);
  });

  it.each([
    [
      { kind: 'apiFault', code: 4321 } as const,
      400,
      'application/json',
      /"OperationErrors":\[\{"Code":4321,"ErrorCode":"Error4321"/,
    ],
    [{ kind: 'http404html' } as const, 404, 'text/html', /^<!DOCTYPE html>.*404 Not Found/s],
    [{ kind: 'empty200' } as const, 200, 'application/json', /^$/],
    [{ kind: 'garbage200' } as const, 200, 'application/json', /^\{"PartialErrors":\[\{"Code":56$/],
  ])('%o answers %i %s and applies nothing', async (fault, status, type, body) => {
    const { emulator, apply } = setup();
    emulator.injectFault(fault);
    const res = await apply([conversion()]);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toContain(type);
    expect(await res.text()).toMatch(body);
    expect(emulator.stats()).toMatchObject({ faults: 1, accepted: 0 });
  });

  it('timeout: hangs, then answers 504; nothing is stored', async () => {
    const { emulator, apply } = setup();
    emulator.injectFault({ kind: 'timeout', hangMs: 30 });
    const started = performance.now();
    const res = await apply([conversion()]);
    expect(res.status).toBe(504);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(emulator.conversions()).toEqual([]);
  });

  it('timeout: a client abort ends the hang at once and leaves no timer behind', async () => {
    const { emulator, call } = setup();
    emulator.injectFault({ kind: 'timeout', applyBeforeHang: true }); // hangs 120 s by default
    const baseline = timers();
    const controller = new AbortController();
    const pending = call(
      paths.applyOfflineConversions,
      { OfflineConversions: [conversion()] },
      {},
      {
        signal: controller.signal,
      },
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(timers()).toBe(baseline + 1);
    controller.abort();
    // Were the 120 s hang not ended, this would outlast the test's timeout.
    await pending;
    expect(timers()).toBe(baseline);
    // applyBeforeHang: Microsoft applied the batch, the answer was lost.
    expect(emulator.conversions()).toHaveLength(1);
  });

  it('applied500: stores the batch, then answers 500; the resend is a duplicate there, and counted', async () => {
    const { emulator, apply } = setup({ record: 'none' });
    emulator.injectFault({ kind: 'applied500' });
    const items = [conversion(), conversion({ MicrosoftClickId: clickId(2) })];
    const res = await apply(items);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ Type: 'AdCenterInternalErrorFault' });
    expect(emulator.stats()).toMatchObject({ faults: 1, accepted: 2, storedThenFailed: 2 });
    expect((await apply(items)).status).toBe(200);
    expect(emulator.conversionSummary()).toEqual({ count: 4, uniqueKeys: 2, keysReceivedMoreThanOnce: 2 });
    expect(emulator.stats()).toMatchObject({ accepted: 2, duplicatesIgnored: 2, storedThenFailed: 2 });
  });

  it('says which conversions it holds (holdsConversion, POST /_emulator/conversions/held)', async () => {
    const { emulator, apply } = setup({ record: 'none' });
    await apply([conversion()]);
    const held = conversion();
    const query = { customerId, accountId, conversionName: 'Deal', conversionTime: held.ConversionTime };
    expect(emulator.holdsConversion({ ...query, microsoftClickId: clickId(1).toUpperCase() })).toBe(true);
    expect(emulator.holdsConversion({ ...query, microsoftClickId: clickId(2) })).toBe(false);
    expect(emulator.holdsConversion({ ...query, microsoftClickId: clickId(1), accountId: '2001' })).toBe(
      false,
    );
    const res = await emulator.app.request('/_emulator/conversions/held', {
      method: 'POST',
      body: JSON.stringify({
        customerId,
        accountId,
        conversions: [
          held,
          conversion({ MicrosoftClickId: clickId(2) }),
          conversion({ ConversionName: 'Nope' }),
        ],
      }),
    });
    expect(await res.json()).toEqual({ held: [true, false, false] });
    const bad = await emulator.app.request('/_emulator/conversions/held', {
      method: 'POST',
      body: JSON.stringify({ customerId, accountId, conversions: [{ ConversionName: 'Deal' }] }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: 'conversions[0].MicrosoftClickId must be a non-empty string; got undefined',
    });
  });

  it('adds latencyMs to every API call', async () => {
    const { apply } = setup({ latencyMs: 40 });
    const started = performance.now();
    await apply([conversion()]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
  });

  it('keeps headers as sent except the bearer token', async () => {
    const { emulator, apply } = setup();
    await apply([conversion()]);
    const [recorded] = emulator.requests;
    expect(recorded!.headers.authorization).toBe('Bearer …');
    expect(recorded!.headers.customerid).toBe(apiHeaders.CustomerId);
  });
});
