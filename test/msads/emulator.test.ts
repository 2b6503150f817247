import { describe, expect, it } from 'vitest';
import { malformedRequestCode } from '../../src/msads/emulator/index.ts';
import {
  accountId,
  ago,
  clickId,
  conversion,
  customerId,
  dayMs,
  errorPairs,
  hourMs,
  setup,
  t0,
} from './emulator-helpers.ts';

describe('emulator: ApplyOfflineConversions', () => {
  it('accepts a valid conversion, answers empty PartialErrors with a TrackingId, and stores it', async () => {
    const { emulator, apply, goalId } = setup();
    const res = await apply([conversion({ ConversionValue: 12.5, ConversionCurrencyCode: 'EUR' })]);
    expect(res.status).toBe(200);
    expect(res.headers.get('TrackingId')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await res.json()).toEqual({ PartialErrors: [] });
    expect(emulator.conversions()).toEqual([
      {
        customerId,
        accountId,
        goalId,
        conversionName: 'Deal',
        microsoftClickId: clickId(1),
        conversionTime: ago(dayMs),
        conversionValue: 12.5,
        conversionCurrencyCode: 'EUR',
        receivedAt: t0,
        receivedCount: 1,
      },
    ]);
    expect(emulator.stats()).toMatchObject({ calls: 1, itemsReceived: 1, accepted: 1, rejectedItems: 0 });
  });

  it.each([
    ['null item', [5602], null],
    ['no click id and no hashes', [5603], conversion({ MicrosoftClickId: undefined })],
    ['empty click id', [5603], conversion({ MicrosoftClickId: '' })],
    ['malformed click id', [5604], conversion({ MicrosoftClickId: 'not-a-click' })],
    ['31-character click id', [5604], conversion({ MicrosoftClickId: clickId(1).slice(1) })],
    ['missing name', [5605], conversion({ ConversionName: undefined })],
    ['blank name', [5605], conversion({ ConversionName: '  ' })],
    ['unknown goal', [5606], conversion({ ConversionName: 'Nope' })],
    ['0001-01-01 time (an unset .NET date)', [5607], conversion({ ConversionTime: '0001-01-01T00:00:00' })],
    ['missing time', [5608], conversion({ ConversionTime: undefined })],
    ['empty time', [5608], conversion({ ConversionTime: '' })],
    ['91 days old', [5609], conversion({ ConversionTime: ago(91 * dayMs) })],
    ['negative value', [5610], conversion({ ConversionValue: -1 })],
    ['huge value', [5610], conversion({ ConversionValue: 1e12 })],
    ['string value', [5610], conversion({ ConversionValue: '10' })],
    ['TRY (Microsoft lists TRL)', [5611], conversion({ ConversionCurrencyCode: 'TRY' })],
    ['future time', [5614], conversion({ ConversionTime: ago(-60_000) })],
  ])('%s → %j', async (_, codes, item) => {
    const { emulator, apply } = setup();
    const res = await apply([item]);
    expect(res.status).toBe(200);
    expect(await errorPairs(res)).toEqual(codes.map((code) => [0, code]));
    expect(emulator.conversions()).toEqual([]);
    expect(emulator.stats()).toMatchObject({ itemsReceived: 1, accepted: 0, rejectedItems: 1 });
  });

  it('reports every error of an item, with the BatchError shape', async () => {
    const { apply } = setup();
    const res = await apply([conversion({ ConversionName: '', ConversionTime: ago(-hourMs) })]);
    const body = (await res.json()) as { PartialErrors: unknown[] };
    expect(body.PartialErrors).toEqual([
      {
        Code: 5605,
        ErrorCode: 'OfflineConversionNameNullOrEmpty',
        Message: expect.any(String),
        Details: null,
        FieldPath: 'ConversionName',
        Index: 0,
        Type: 'BatchError',
      },
      expect.objectContaining({ Code: 5614, ErrorCode: 'FutureConversionTimeCannotBeSet', Index: 0 }),
    ]);
  });

  it('maps errors to the zero-based index of the item and accepts the rest', async () => {
    const { emulator, apply } = setup();
    const items = [
      conversion({ MicrosoftClickId: clickId(1) }),
      conversion({ MicrosoftClickId: 'bad' }),
      conversion({ MicrosoftClickId: clickId(3) }),
      null,
      conversion({ MicrosoftClickId: clickId(5), ConversionName: 'Nope', ConversionValue: -5 }),
    ];
    expect(await errorPairs(await apply(items))).toEqual([
      [1, 5604],
      [3, 5602],
      [4, 5606],
      [4, 5610],
    ]);
    expect(emulator.conversions().map((c) => c.microsoftClickId)).toEqual([clickId(1), clickId(3)]);
    expect(emulator.stats()).toMatchObject({ itemsReceived: 5, accepted: 2, rejectedItems: 3 });
  });

  it('accepts hashed email or phone instead of a click id (enhanced conversions)', async () => {
    const { emulator, apply } = setup();
    const hash = 'f25ad364d33972379a7a4f4df33db142205f5c40eb19cfdb2fc5aaf117e10101';
    expect(
      await errorPairs(await apply([conversion({ MicrosoftClickId: undefined, HashedEmailAddress: hash })])),
    ).toEqual([]);
    expect(emulator.conversions()[0]).toMatchObject({ hashedEmailAddress: hash });
    expect(emulator.conversions()[0]).not.toHaveProperty('microsoftClickId');
    // The same hash and time again is a duplicate; the hash with a click id is another conversion.
    await apply([conversion({ MicrosoftClickId: undefined, HashedEmailAddress: hash.toUpperCase() })]);
    await apply([conversion({ HashedEmailAddress: hash })]);
    expect(emulator.conversionSummary()).toEqual({ count: 3, uniqueKeys: 2, keysReceivedMoreThanOnce: 1 });
  });

  it('ignores duplicates silently: same name, click and instant; the first one wins', async () => {
    const { emulator, apply } = setup();
    const time = '2026-02-28T10:00:00Z';
    await apply([conversion({ ConversionTime: time, ConversionValue: 1 })]);
    const res = await apply([
      conversion({ ConversionTime: '2026-02-28T11:00:00+01:00', ConversionValue: 2 }), // same instant
      conversion({ ConversionTime: time, ConversionValue: 3, MicrosoftClickId: clickId(1).toUpperCase() }),
      conversion({ ConversionTime: '2026-02-28T10:00:01Z' }), // another time: a new conversion
    ]);
    expect(await errorPairs(res)).toEqual([]);
    const stored = emulator.conversions();
    expect(stored).toHaveLength(2);
    expect(stored[0]).toMatchObject({ conversionTime: time, conversionValue: 1, receivedCount: 3 });
    expect(emulator.stats()).toMatchObject({ accepted: 2, duplicatesIgnored: 2 });
    expect(emulator.conversionSummary()).toEqual({ count: 4, uniqueKeys: 2, keysReceivedMoreThanOnce: 1 });
  });

  it('takes 1,000 items in one call and refuses 1,001 with 5601, storing nothing', async () => {
    const { emulator, apply } = setup();
    const items = (n: number, from: number) =>
      Array.from({ length: n }, (_, i) => conversion({ MicrosoftClickId: clickId(from + i) }));
    const ok = await apply(items(1000, 0));
    expect(await errorPairs(ok)).toEqual([]);
    expect(emulator.stats().accepted).toBe(1000);

    const tooMany = await apply(items(1001, 5000));
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toMatchObject({
      Type: 'ApiFaultDetail',
      TrackingId: tooMany.headers.get('TrackingId'),
      OperationErrors: [{ Code: 5601, ErrorCode: 'OfflineConversionsLimitExceeded' }],
      BatchErrors: [],
    });
    expect(emulator.stats().accepted).toBe(1000);
  });

  it('refuses an empty or null list with 5600', async () => {
    const { apply, call } = setup();
    const empty = await apply([]);
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({ OperationErrors: [{ Code: 5600 }] });
    const nullList = await call('/CampaignManagement/v13/OfflineConversions/Apply', {
      OfflineConversions: null,
    });
    expect(await nullList.json()).toMatchObject({ OperationErrors: [{ Code: 5600 }] });
  });

  it.each([
    ['a US-style date', '06/01/2017 1:00 PM'],
    ['month 13', '2026-13-45T00:00:00Z'],
    ['February 30', '2026-02-30T10:00:00Z'],
    ['a date with a space', '2026-02-28 10:00:00Z'],
  ])('refuses the whole request when one ConversionTime is %s, and stores nothing', async (_, time) => {
    const { emulator, apply } = setup();
    const res = await apply([
      conversion(),
      conversion({ MicrosoftClickId: clickId(2), ConversionTime: time }),
    ]);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { OperationErrors: { Code: number; Message: string }[] };
    expect(body).toMatchObject({ Type: 'ApiFaultDetail', BatchErrors: [] });
    expect(body.OperationErrors[0]!.Code).toBe(malformedRequestCode);
    expect(body.OperationErrors[0]!.Message).toContain('item 1');
    expect(emulator.conversions()).toEqual([]);
    expect(emulator.stats()).toMatchObject({ itemsReceived: 0, accepted: 0 });
  });

  it.each([
    ['a body that is not JSON', '{"OfflineConversions": ['],
    ['a body without the array', { Conversions: [conversion()] }],
    ['a non-array list', { OfflineConversions: 'x' }],
    ['an item that is not an object', { OfflineConversions: [conversion(), 7] }],
    ['a number where a string belongs', { OfflineConversions: [conversion({ ConversionName: 5 })] }],
  ])('refuses %s whole with the malformed-request fault', async (_, body) => {
    const { emulator, call } = setup();
    const res = await call('/CampaignManagement/v13/OfflineConversions/Apply', body);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ OperationErrors: [{ Code: malformedRequestCode }] });
    expect(emulator.conversions()).toEqual([]);
  });

  it('accepts ISO variants: fractions, offsets, no seconds, no offset (read as UTC)', async () => {
    const { emulator, apply } = setup();
    const times = [
      '2026-02-28T10:00:00.123Z',
      '2026-02-28T12:00:00+02:00',
      '2026-02-28T09:30Z',
      '2026-02-28T08:00:00',
    ];
    const res = await apply(
      times.map((t, i) => conversion({ MicrosoftClickId: clickId(i), ConversionTime: t })),
    );
    expect(await errorPairs(res)).toEqual([]);
    expect(emulator.conversions().map((c) => c.conversionTime)).toEqual(times);
  });

  it('refuses a request carrying a poisoned click id whole, so a submitter can split the batch', async () => {
    const { emulator, apply } = setup();
    emulator.poisonClickId(clickId(7).toUpperCase());
    const items = [1, 2, 7, 8].map((n) => conversion({ MicrosoftClickId: clickId(n) }));
    const res = await apply(items);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ OperationErrors: [{ Code: malformedRequestCode }] });
    expect(emulator.conversions()).toEqual([]);
    // The halves without it go through.
    expect((await apply(items.slice(0, 2))).status).toBe(200);
    expect((await apply(items.slice(3))).status).toBe(200);
    expect(emulator.conversions()).toHaveLength(3);
  });

  it('answers 5615 until the goal is 2 hours old by the emulator clock', async () => {
    const { emulator, apply, clock } = setup();
    emulator.addGoal({ customerId, accountId, name: 'New goal' }); // created now
    const item = conversion({ ConversionName: 'New goal', ConversionTime: ago(hourMs) });
    expect(await errorPairs(await apply([item]))).toEqual([[0, 5615]]);
    clock.advance(2 * hourMs - 1000);
    expect(await errorPairs(await apply([item]))).toEqual([[0, 5615]]);
    clock.advance(1000);
    expect(await errorPairs(await apply([item]))).toEqual([]);
    expect(emulator.conversions()).toHaveLength(1);
  });

  it('checks registered clicks: 5616 before the click, 5617 past the goal window; unregistered ids pass', async () => {
    const { emulator, apply } = setup();
    emulator.addGoal({
      customerId,
      accountId,
      name: 'Short',
      conversionWindowMinutes: 60,
      createdAt: new Date(t0.getTime() - 10 * dayMs),
    });
    emulator.addClick(clickId(1), new Date(t0.getTime() - 5 * dayMs));
    const res = await apply([
      conversion({ ConversionTime: ago(6 * dayMs) }),
      conversion({ ConversionName: 'Short', ConversionTime: ago(5 * dayMs - 2 * hourMs) }),
      conversion({ ConversionName: 'Short', ConversionTime: ago(5 * dayMs - 30 * 60_000) }),
      conversion({ MicrosoftClickId: clickId(2), ConversionTime: ago(6 * dayMs) }),
    ]);
    expect(await errorPairs(res)).toEqual([
      [0, 5616],
      [1, 5617],
    ]);
    expect(emulator.conversions().map((c) => c.conversionName)).toEqual(['Short', 'Deal']);
  });

  it('lets an account see its own goals and its customer-scope goals, not another account’s', async () => {
    const { emulator, apply } = setup();
    emulator.addGoal({ customerId, accountId: '2999', name: 'Other account', createdAt: new Date(0) });
    emulator.addGoal({ customerId, name: 'Shared', scope: 'Customer', createdAt: new Date(0) });
    emulator.addGoal({ customerId: '9', name: 'Other customer', scope: 'Customer', createdAt: new Date(0) });
    const res = await apply(
      ['Deal', 'Other account', 'Shared', 'Other customer'].map((name) =>
        conversion({ ConversionName: name }),
      ),
    );
    expect(await errorPairs(res)).toEqual([
      [1, 5606],
      [3, 5606],
    ]);
  });

  it('keeps only dedupe keys with record: none, and still counts', async () => {
    const { emulator, apply } = setup({ record: 'none' });
    await apply([conversion(), conversion(), conversion({ MicrosoftClickId: clickId(2) })]);
    expect(emulator.conversions()).toEqual([]);
    expect(emulator.requests).toEqual([]);
    expect(emulator.conversionSummary()).toEqual({ count: 3, uniqueKeys: 2, keysReceivedMoreThanOnce: 1 });
    expect(emulator.stats()).toMatchObject({ accepted: 2, duplicatesIgnored: 1 });
  });

  // How fast is a benchmark's question (bench:submit drives the emulator at 600 calls a minute); here,
  // that full calls are taken whole, every item counted and stored once.
  it('takes 20 calls of 1,000 items each whole: every item stored once, none refused', async () => {
    const { emulator, apply } = setup({ record: 'none' });
    const batches = Array.from({ length: 20 }, (_, b) =>
      Array.from({ length: 1000 }, (_, i) =>
        conversion({ MicrosoftClickId: clickId(b * 1000 + i), ConversionValue: 1 }),
      ),
    );
    for (const batch of batches) {
      const res = await apply(batch);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { PartialErrors: unknown[] }).PartialErrors).toEqual([]);
    }
    expect(emulator.conversionSummary()).toEqual({
      count: 20_000,
      uniqueKeys: 20_000,
      keysReceivedMoreThanOnce: 0,
    });
    expect(emulator.stats()).toMatchObject({
      calls: 20,
      itemsReceived: 20_000,
      accepted: 20_000,
      rejectedItems: 0,
    });
  });
});
