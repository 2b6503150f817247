import { describe, expect, it } from 'vitest';
import { checkRow, type GoalFacts } from '../../src/domain/conversion-rules.ts';
import { goalDirectory, goalNameKey } from '../../src/domain/goal-names.ts';
import { parseConversionTime } from '../../src/domain/time.ts';

const goal = (name: string): GoalFacts => ({
  id: name,
  name,
  status: 'active',
  createdAt: new Date('2026-01-01T00:00:00Z'),
  readyAt: null,
  conversionWindowMinutes: 43_200,
});
const goals = goalDirectory([goal('Purchase'), goal('Phone lead')]);

describe('goalDirectory', () => {
  it('finds goals by their exact name only', () => {
    expect(goals.find('Purchase')?.name).toBe('Purchase');
    expect(goals.find('purchase')).toBeUndefined();
  });

  it.each([
    ['purchase', 'Purchase'],
    ['PURCHASE', 'Purchase'],
    ['phone lead', 'Phone lead'],
    ['Phone  lead', 'Phone lead'],
    ['PhoneLead', 'Phone lead'],
  ])('%j probably meant %j', (name, meant) => {
    expect(goals.similar(name)).toBe(meant);
  });

  it.each(['Purchase', 'Purchases', 'Lead', ''])('%j has no other spelling', (name) => {
    expect(goals.similar(name)).toBeUndefined();
  });

  it('names that differ only in case are one goal for Microsoft', () => {
    expect(goalNameKey('Purchase')).toBe(goalNameKey('PURCHASE'));
    expect(goalNameKey('Äpfel')).toBe(goalNameKey('äpfel'));
    expect(goalNameKey('Phone lead')).not.toBe(goalNameKey('Phone  lead'));
  });
});

describe('a row naming a goal in another case or spacing', () => {
  const check = (name: string) =>
    checkRow(
      { clickId: 'a'.repeat(32), conversionName: name, conversionTime: '2026-06-01 10:00:00' },
      {
        kind: 'conversions',
        now: new Date('2026-06-02T00:00:00Z'),
        parseTime: (text) => parseConversionTime(text, undefined),
        goal: goals.find,
        similarGoal: goals.similar,
        where: 'Row 2',
        fieldLabel: (field) => `field ${field}`,
      },
    );

  it('is refused with the goal it probably meant', () => {
    const row = check('purchase');
    expect(row).toMatchObject({ status: 'rejected', errorCode: 'UNKNOWN_GOAL' });
    expect(row.message).toBe(
      'Row 2, field conversionName: no offline conversion goal is named "purchase"; did you mean "Purchase"? Names must match exactly, case and spaces included.',
    );
  });

  it('a name like no goal is told to create it', () => {
    expect(check('Refund').message).toContain('Create it first');
  });
});
