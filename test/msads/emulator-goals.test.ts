import { describe, expect, it } from 'vitest';
import { autoTaggingProperty, paths } from '../../src/msads/wire.ts';
import { accountId, conversion, customerId, errorPairs, hourMs, setup, t0 } from './emulator-helpers.ts';

function goal(overrides: Record<string, unknown> = {}) {
  return {
    Type: 'OfflineConversion',
    Name: 'Closed deal',
    ConversionWindowInMinutes: 43200,
    CountType: 'All',
    Revenue: { Type: 'VariableValue', Value: 100, CurrencyCode: 'USD' },
    Scope: 'Account',
    Status: 'Active',
    GoalCategory: 'Purchase',
    ...overrides,
  };
}

async function autoTagging(call: ReturnType<typeof setup>['call'], account = accountId) {
  const res = await call(
    paths.getAccountProperties,
    { AccountPropertyNames: [autoTaggingProperty] },
    { CustomerAccountId: account },
  );
  expect(res.status).toBe(200);
  const body = (await res.json()) as {
    AccountProperties: { Name: string; Value: string }[];
    PartialErrors: [];
  };
  expect(body.PartialErrors).toEqual([]);
  return body.AccountProperties;
}

describe('emulator: conversion goals', () => {
  it('adds goals with numeric string ids, created now, visible through GetConversionGoalsByIds', async () => {
    const { emulator, call } = setup();
    const res = await call(paths.addConversionGoals, {
      ConversionGoals: [goal(), goal({ Name: 'Call', Scope: 'Customer' })],
    });
    expect(res.status).toBe(200);
    const { ConversionGoalIds: ids, PartialErrors } = (await res.json()) as {
      ConversionGoalIds: string[];
      PartialErrors: [];
    };
    expect(PartialErrors).toEqual([]);
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(id).toMatch(/^\d+$/);
    expect(emulator.goals(customerId).find((g) => g.id === ids[0])).toMatchObject({
      name: 'Closed deal',
      scope: 'Account',
      accountId,
      createdAt: t0,
      revenue: { type: 'VariableValue', value: 100, currencyCode: 'USD' },
      goalCategory: 'Purchase',
    });

    const byIds = await call(paths.getConversionGoalsByIds, {
      ConversionGoalIds: [ids[1]],
      ConversionGoalTypes: 'OfflineConversion',
    });
    expect(await byIds.json()).toEqual({
      ConversionGoals: [
        {
          Type: 'OfflineConversion',
          Id: ids[1],
          Name: 'Call',
          ConversionWindowInMinutes: 43200,
          CountType: 'All',
          Revenue: { Type: 'VariableValue', Value: 100, CurrencyCode: 'USD' },
          Scope: 'Customer',
          Status: 'Active',
          GoalCategory: 'Purchase',
        },
      ],
      PartialErrors: [],
    });
  });

  it('lists every goal the account sees when ConversionGoalIds is null or empty', async () => {
    const { emulator, call } = setup();
    emulator.addGoal({ customerId, accountId: '2999', name: 'Other account' });
    emulator.addGoal({ customerId, name: 'Shared', scope: 'Customer' });
    for (const ids of [null, [], undefined]) {
      const res = await call(paths.getConversionGoalsByIds, {
        ConversionGoalIds: ids,
        ConversionGoalTypes: 'OfflineConversion',
      });
      const names = ((await res.json()) as { ConversionGoals: { Name: string }[] }).ConversionGoals.map(
        (g) => g.Name,
      );
      expect(names).toEqual(['Deal', 'Shared']);
    }
    const otherTypes = await call(paths.getConversionGoalsByIds, { ConversionGoalTypes: 'Url, Event' });
    expect(await otherTypes.json()).toEqual({ ConversionGoals: [], PartialErrors: [] });
    const noTypes = await call(paths.getConversionGoalsByIds, {});
    expect(noTypes.status).toBe(400);
    expect(await noTypes.json()).toMatchObject({ OperationErrors: [{ Code: 5329 }] });
  });

  it('answers null and 5314 for an id it does not know or the account cannot see', async () => {
    const { emulator, call, goalId } = setup();
    const hidden = emulator.addGoal({ customerId, accountId: '2999', name: 'Hidden' });
    const res = await call(paths.getConversionGoalsByIds, {
      ConversionGoalIds: ['42', goalId, hidden.id],
      ConversionGoalTypes: 'OfflineConversion',
    });
    const body = (await res.json()) as { ConversionGoals: unknown[] };
    expect(body.ConversionGoals[0]).toBeNull();
    expect(body.ConversionGoals[1]).toMatchObject({ Id: goalId, Name: 'Deal' });
    expect(body.ConversionGoals[2]).toBeNull();
    expect(await errorPairs(new Response(JSON.stringify(body)))).toEqual([
      [0, 5314],
      [2, 5314],
    ]);
  });

  it.each([
    ['name taken in the customer', [5317], goal({ Name: 'Deal' })],
    ['missing name', [5319], goal({ Name: undefined })],
    ['name over 100 characters', [5320], goal({ Name: 'x'.repeat(101) })],
    ['window 0', [5337], goal({ ConversionWindowInMinutes: 0 })],
    ['window over 90 days', [5337], goal({ ConversionWindowInMinutes: 129_601 })],
    ['not an offline goal', [5331], goal({ Type: 'Url' })],
    ['an id on add', [5324], goal({ Id: '5' })],
    ['bad status', [5328], goal({ Status: 'Deleted' })],
    ['bad revenue type', [5332], goal({ Revenue: { Type: 'Lots' } })],
    ['fixed revenue without value', [5333], goal({ Revenue: { Type: 'FixedValue', CurrencyCode: 'USD' } })],
    ['no-value revenue with a value', [5333], goal({ Revenue: { Type: 'NoValue', Value: 5 } })],
    ['unlisted currency', [5351], goal({ Revenue: { Type: 'FixedValue', Value: 5, CurrencyCode: 'TRY' } })],
    [
      'customer-scope value without currency',
      [5355],
      goal({ Scope: 'Customer', Revenue: { Type: 'FixedValue', Value: 5 } }),
    ],
    ['no goal category', [3347], goal({ GoalCategory: undefined })],
    ['null goal', [5323], null],
  ])('refuses %s → %j with a null id', async (_, codes, item) => {
    const { emulator, call } = setup();
    const res = await call(paths.addConversionGoals, { ConversionGoals: [item] });
    const body = (await res.json()) as { ConversionGoalIds: unknown[] };
    expect(body.ConversionGoalIds).toEqual([null]);
    expect(await errorPairs(new Response(JSON.stringify(body)))).toEqual(codes.map((c) => [0, c]));
    expect(emulator.goals()).toHaveLength(1);
  });

  it('refuses the second of two goals with one name in a request (5316) and keeps the first', async () => {
    const { call } = setup();
    const res = await call(paths.addConversionGoals, { ConversionGoals: [goal(), goal()] });
    const body = (await res.json()) as { ConversionGoalIds: (string | null)[] };
    expect(body.ConversionGoalIds[0]).toMatch(/^\d+$/);
    expect(body.ConversionGoalIds[1]).toBeNull();
    expect(await errorPairs(new Response(JSON.stringify(body)))).toEqual([[1, 5316]]);
  });

  it('refuses no goals (5321) and more than 100 (5322)', async () => {
    const { call } = setup();
    expect(await (await call(paths.addConversionGoals, { ConversionGoals: [] })).json()).toMatchObject({
      OperationErrors: [{ Code: 5321 }],
    });
    const many = Array.from({ length: 101 }, (_, i) => goal({ Name: `g${i}` }));
    const res = await call(paths.addConversionGoals, { ConversionGoals: many });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ OperationErrors: [{ Code: 5322 }] });
  });

  it('takes conversions for a goal added through the API only 2 hours later', async () => {
    const { call, apply, clock } = setup();
    await call(paths.addConversionGoals, { ConversionGoals: [goal()] });
    const item = conversion({ ConversionName: 'Closed deal' });
    expect(await errorPairs(await apply([item]))).toEqual([[0, 5615]]);
    clock.advance(2 * hourMs);
    expect(await errorPairs(await apply([item]))).toEqual([]);
  });

  it('addGoal throws a TypeError for a goal Microsoft would refuse', () => {
    const { emulator } = setup();
    expect(() => emulator.addGoal({ customerId, accountId, name: 'Deal' })).toThrow(
      /ConversionGoalNameAlreadyExists/,
    );
    expect(() => emulator.addGoal({ customerId, name: 'x', scope: 'Account' })).toThrow(/needs accountId/);
    expect(() => emulator.addGoal({ customerId, accountId, name: 'y', conversionWindowMinutes: 0 })).toThrow(
      TypeError,
    );
  });
});

describe('emulator: account properties (auto-tagging)', () => {
  it('answers False for a new account, True after SetAccountProperties, and back', async () => {
    const { call } = setup();
    expect(await autoTagging(call, '3000')).toEqual([{ Name: autoTaggingProperty, Value: 'False' }]);
    const set = await call(
      paths.setAccountProperties,
      { AccountProperties: [{ Name: autoTaggingProperty, Value: 'True' }] },
      { CustomerAccountId: '3000' },
    );
    expect(await set.json()).toEqual({ PartialErrors: [] });
    expect(await autoTagging(call, '3000')).toEqual([{ Name: autoTaggingProperty, Value: 'True' }]);
    await call(
      paths.setAccountProperties,
      { AccountProperties: [{ Name: autoTaggingProperty, Value: 'False' }] },
      { CustomerAccountId: '3000' },
    );
    expect(await autoTagging(call, '3000')).toEqual([{ Name: autoTaggingProperty, Value: 'False' }]);
  });

  it('turns auto-tagging on when an offline goal is created (API or addGoal), as Microsoft documents', async () => {
    const { emulator, call } = setup();
    expect(await autoTagging(call)).toEqual([{ Name: autoTaggingProperty, Value: 'True' }]); // setup's goal
    emulator.setAutoTagging(customerId, accountId, false);
    expect(await autoTagging(call)).toEqual([{ Name: autoTaggingProperty, Value: 'False' }]);
    await call(paths.addConversionGoals, { ConversionGoals: [goal()] });
    expect(await autoTagging(call)).toEqual([{ Name: autoTaggingProperty, Value: 'True' }]);
  });

  it('reports a bad property value as a partial error', async () => {
    const { call } = setup();
    const res = await call(paths.setAccountProperties, {
      AccountProperties: [{ Name: autoTaggingProperty, Value: 'yes' }],
    });
    expect(await errorPairs(res)).toEqual([[0, 201]]);
  });
});
