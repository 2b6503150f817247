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
} from './emulator-helpers.ts';

const conversionTime = ago(2 * dayMs);

function adjustment(overrides: Record<string, unknown> = {}) {
  return {
    AdjustmentType: 'Restate',
    AdjustmentTime: ago(dayMs),
    AdjustmentValue: 20,
    AdjustmentCurrencyCode: 'USD',
    ConversionName: 'Deal',
    ConversionTime: conversionTime,
    MicrosoftClickId: clickId(1),
    ...overrides,
  };
}

describe('emulator: ApplyOfflineConversionAdjustments', () => {
  it('stores a restate and a retract of an existing conversion', async () => {
    const { emulator, apply, adjust, goalId } = setup();
    await apply([conversion({ ConversionTime: conversionTime })]);
    const retract = adjustment({
      AdjustmentType: 'Retract',
      AdjustmentTime: ago(hourMs),
      AdjustmentValue: undefined,
      AdjustmentCurrencyCode: 'ZZZ', // ignored on Retract
    });
    const res = await adjust([adjustment(), retract]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ PartialErrors: [] });
    expect(emulator.adjustments()).toEqual([
      expect.objectContaining({
        customerId,
        accountId,
        goalId,
        adjustmentType: 'Restate',
        adjustmentValue: 20,
        adjustmentCurrencyCode: 'USD',
        originalFound: true,
        receivedCount: 1,
      }),
      expect.objectContaining({ adjustmentType: 'Retract', originalFound: true }),
    ]);
    expect(emulator.adjustments()[1]).not.toHaveProperty('adjustmentCurrencyCode');
    expect(emulator.stats()).toMatchObject({ adjustments: 2, itemsReceived: 3 });
  });

  it('accepts an adjustment whose conversion never arrived (Microsoft reports that asynchronously)', async () => {
    const { emulator, adjust } = setup();
    expect(await errorPairs(await adjust([adjustment()]))).toEqual([]);
    expect(emulator.adjustments()[0]).toMatchObject({ originalFound: false });
  });

  it('ignores a repeated adjustment (same conversion, type and time)', async () => {
    const { emulator, adjust } = setup();
    await adjust([adjustment()]);
    await adjust([adjustment({ AdjustmentValue: 99 })]);
    expect(emulator.adjustments()).toEqual([
      expect.objectContaining({ adjustmentValue: 20, receivedCount: 2 }),
    ]);
    expect(emulator.stats()).toMatchObject({ adjustments: 1, duplicatesIgnored: 1 });
    // A retract at the same time is another adjustment.
    await adjust([adjustment({ AdjustmentType: 'Retract', AdjustmentValue: undefined })]);
    expect(emulator.stats()).toMatchObject({ adjustments: 2, duplicatesIgnored: 1 });
  });

  it.each([
    ['null item', [5602], null],
    ['unknown type', [5618], adjustment({ AdjustmentType: 'Refund' })],
    ['missing type', [5618], adjustment({ AdjustmentType: undefined })],
    ['missing adjustment time', [5619], adjustment({ AdjustmentTime: undefined })],
    ['adjustment before the conversion', [5620], adjustment({ AdjustmentTime: ago(3 * dayMs) })],
    ['unusable adjustment time', [5621], adjustment({ AdjustmentTime: '1970-01-01T00:00:00Z' })],
    ['future adjustment time', [5622], adjustment({ AdjustmentTime: ago(-hourMs) })],
    [
      'conversion older than 90 days',
      [5609, 5623],
      adjustment({ ConversionTime: ago(95 * dayMs), AdjustmentTime: ago(dayMs) }),
    ],
    [
      'adjustment time older than 90 days, before its conversion',
      [5620, 5623],
      adjustment({ ConversionTime: ago(89 * dayMs), AdjustmentTime: ago(91 * dayMs) }),
    ],
    ['value on Retract', [5624], adjustment({ AdjustmentType: 'Retract' })],
    ['Restate without value', [5625], adjustment({ AdjustmentValue: undefined })],
    ['Restate with a negative value', [5610], adjustment({ AdjustmentValue: -3 })],
    ['Restate with an unlisted currency', [5611], adjustment({ AdjustmentCurrencyCode: 'TRY' })],
    ['no click id', [5603], adjustment({ MicrosoftClickId: undefined })],
    ['bad click id', [5604], adjustment({ MicrosoftClickId: 'xyz' })],
    ['no name', [5605], adjustment({ ConversionName: undefined })],
    ['unknown name', [5606], adjustment({ ConversionName: 'Nope' })],
    ['no conversion time', [5608], adjustment({ ConversionTime: undefined })],
  ])('%s → %j', async (_, codes, item) => {
    const { emulator, adjust } = setup();
    expect(await errorPairs(await adjust([item]))).toEqual(codes.map((code) => [0, code]));
    expect(emulator.adjustments()).toEqual([]);
    expect(emulator.stats().rejectedItems).toBe(1);
  });

  it('needs a currency on Restate when the goal has none (5626), not when the goal has one', async () => {
    const { emulator, adjust } = setup();
    emulator.addGoal({ customerId, accountId, name: 'No currency', createdAt: new Date(0) });
    const res = await adjust([
      adjustment({ ConversionName: 'No currency', AdjustmentCurrencyCode: undefined }),
      adjustment({ AdjustmentCurrencyCode: undefined }),
    ]);
    expect(await errorPairs(res)).toEqual([[0, 5626]]);
  });

  it('reports several errors of one item under its index', async () => {
    const { adjust } = setup();
    const res = await adjust([
      adjustment(),
      adjustment({ AdjustmentType: 'Retract', ConversionName: '', AdjustmentTime: ago(-hourMs) }),
    ]);
    expect(await errorPairs(res)).toEqual([
      [1, 5605],
      [1, 5622],
      [1, 5624],
    ]);
  });

  it('refuses the whole request for a malformed AdjustmentTime', async () => {
    const { emulator, adjust } = setup();
    const res = await adjust([adjustment(), adjustment({ AdjustmentTime: '06/01/2017 1:00 PM' })]);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      Type: 'ApiFaultDetail',
      OperationErrors: [{ Code: malformedRequestCode }],
    });
    expect(emulator.adjustments()).toEqual([]);
  });

  it('refuses an empty list (5600) and more than 1,000 items (5601)', async () => {
    const { adjust } = setup();
    expect(await (await adjust([])).json()).toMatchObject({ OperationErrors: [{ Code: 5600 }] });
    const many = Array.from({ length: 1001 }, (_, i) => adjustment({ MicrosoftClickId: clickId(i) }));
    const res = await adjust(many);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ OperationErrors: [{ Code: 5601 }] });
  });
});
