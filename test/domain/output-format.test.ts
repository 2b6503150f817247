import { describe, expect, it } from 'vitest';
import { formatWindow, parseWindow } from '../../src/domain/conversion-window.ts';
import { plural } from '../../src/domain/plural.ts';
import { formatValue } from '../../src/domain/values.ts';

describe('plural', () => {
  it.each([
    [0, 'row', '0 rows'],
    [1, 'row', '1 row'],
    [2, 'row', '2 rows'],
    [1000, 'call', '1,000 calls'],
    [1, 'more row', '1 more row'],
  ])('%i %s → %s', (n, noun, text) => {
    expect(plural(n, noun)).toBe(text);
  });

  it('takes an irregular plural', () => {
    expect(plural(2, 'entry', 'entries')).toBe('2 entries');
    expect(plural(1, 'entry', 'entries')).toBe('1 entry');
  });
});

describe('formatValue: values as people write money', () => {
  it.each([
    ['129.900', '129.90'],
    ['45.000', '45'],
    ['0.125', '0.125'],
    ['12.500', '12.50'],
    ['100', '100'],
    ['0.000', '0'],
    ['999999999999.000', '999999999999'],
  ])('%s → %s', (stored, shown) => {
    expect(formatValue(stored)).toBe(shown);
  });

  it('takes numbers too (a goal view has them)', () => {
    expect(formatValue(129.9)).toBe('129.90');
    expect(formatValue(50)).toBe('50');
  });
});

describe('formatWindow', () => {
  it.each([
    [43_200, '30 days'],
    [1440, '1 day'],
    [720, '12 hours'],
    [60, '1 hour'],
    [90, '90 minutes'],
    [1, '1 minute'],
    [129_600, '90 days'],
  ])('%i minutes → %s, which parseWindow reads back', (minutes, text) => {
    expect(formatWindow(minutes)).toBe(text);
    expect(parseWindow(text)).toBe(minutes);
  });
});
