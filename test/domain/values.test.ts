import { describe, expect, it } from 'vitest';
import { msadsCurrencies, parseCurrency, parseValue } from '../../src/domain/values.ts';
import { expectFail, expectOk } from './expect-result.ts';

describe('parseValue', () => {
  it.each([
    ['0', 0],
    ['12', 12],
    ['12.5', 12.5],
    ['12.50', 12.5],
    ['1234.567', 1234.567],
    ['12.5000', 12.5],
    ['0.001', 0.001],
    ['.5', 0.5],
    ['5.', 5],
    ['007', 7],
    ['+12', 12],
    ['-0', 0],
    ['  42.10 ', 42.1],
    ['999999999999', 999_999_999_999],
    ['999999999999.000', 999_999_999_999],
  ])('reads %j', (text, value) => {
    expect(expectOk(parseValue(text))).toBe(value);
  });

  it.each([
    ['12,50', 'use a period: 12.50'],
    ['0,5', 'use a period: 0.5'],
    ['1,234.50', 'remove the thousands separator: 1234.50'],
    ['1,234,567', 'remove the thousands separator: 1234567'],
    ['1.234,50', 'a period: 1234.50'],
    ['1 234,50', 'remove the thousands separator and use a period: 1234.50'],
  ])('refuses the comma in %j', (text, fix) => {
    const message = expectFail(parseValue(text), 'VALUE_COMMA_DECIMAL');
    expect(message).toContain(`"${text}"`);
    expect(message).toContain(fix);
  });

  it('gives both readings of 1,234', () => {
    const message = expectFail(parseValue('1,234'), 'VALUE_COMMA_DECIMAL');
    expect(message).toContain('write 1234 if the comma separates thousands');
    expect(message).toContain('1.234 if it is the decimal separator');
  });

  it('refuses more than 3 decimals and suggests the rounded value', () => {
    const message = expectFail(parseValue('12.3456'), 'VALUE_TOO_MANY_DECIMALS');
    expect(message).toContain('4 decimal places');
    expect(message).toContain('at most 3');
    expect(message).toContain('12.346');
  });

  it.each(['-1', '-12.50', '-.5'])('refuses the negative %j and points to adjustments', (text) => {
    const message = expectFail(parseValue(text), 'VALUE_NEGATIVE');
    expect(message).toContain(`"${text}"`);
    expect(message).toContain('0 to 999999999999');
    expect(message).toContain('Restate');
  });

  it.each(['1000000000000', '999999999999.5', '0001000000000000'])('refuses %j as too large', (text) => {
    const message = expectFail(parseValue(text), 'VALUE_OUT_OF_RANGE');
    expect(message).toContain('999999999999');
  });

  it.each([
    ['$12', 'USD for $', '(write 12)'],
    ['12 €', 'EUR for €', '(write 12)'],
    ['£9.99', 'GBP for £', '(write 9.99)'],
    ['US$5', 'USD for US$', '(write 5)'],
    ['R$ 10,50', 'BRL for R$', ''],
  ])('refuses the currency symbol in %j', (text, code, write) => {
    const message = expectFail(parseValue(text), 'INVALID_VALUE');
    expect(message).toContain('remove the currency symbol');
    expect(message).toContain('currency column');
    expect(message).toContain(code);
    if (write) expect(message).toContain(write);
    else expect(message).not.toContain('(write');
  });

  it('refuses a currency code next to the amount', () => {
    const message = expectFail(parseValue('USD 12.50'), 'INVALID_VALUE');
    expect(message).toContain('write only the amount (12.50)');
    expect(message).toContain('put USD in the currency column');
  });

  it.each(['1e5', '1.5E+3', 'NaN', 'Infinity', '-Infinity', 'abc', '12abc', '0x10', '.', '1..2', '1.2.3'])(
    'refuses %j as not a number',
    (text) => {
      const message = expectFail(parseValue(text), 'INVALID_VALUE');
      expect(message).toContain(`"${text}"`);
      expect(message).toMatch(/1234\.50/);
    },
  );

  it('names the exponent in 1e5', () => {
    expect(expectFail(parseValue('1e5'), 'INVALID_VALUE')).toContain('exponent');
  });

  it("refuses other thousands separators (space, Swiss ')", () => {
    expect(expectFail(parseValue('1 234'), 'INVALID_VALUE')).toContain(
      'remove the thousands separator: 1234',
    );
    expect(expectFail(parseValue("1'234.50"), 'INVALID_VALUE')).toContain('1234.50');
  });
});

describe('msadsCurrencies', () => {
  it("holds Microsoft's 100 goal revenue codes, with TRL, VEF and HRK", () => {
    expect(msadsCurrencies.size).toBe(100);
    for (const code of ['USD', 'EUR', 'GBP', 'TRL', 'VEF', 'HRK', 'ZMW', 'AED'])
      expect(msadsCurrencies.has(code)).toBe(true);
    for (const code of ['TRY', 'VES', 'BAM', 'XYZ']) expect(msadsCurrencies.has(code)).toBe(false);
    for (const code of msadsCurrencies) expect(code).toMatch(/^[A-Z]{3}$/);
  });
});

describe('parseCurrency', () => {
  it.each([
    ['USD', 'USD'],
    ['usd', 'USD'],
    [' Eur ', 'EUR'],
    ['trl', 'TRL'],
  ])('reads %j', (text, code) => {
    expect(expectOk(parseCurrency(text))).toBe(code);
  });

  it('suggests TRL for TRY', () => {
    const message = expectFail(parseCurrency('TRY'), 'INVALID_CURRENCY');
    expect(message).toContain('TRL, not TRY');
    expect(expectFail(parseCurrency('try'), 'INVALID_CURRENCY')).toContain('write TRL');
  });

  it.each([
    ['$', 'USD'],
    ['€', 'EUR'],
    ['£', 'GBP'],
    ['¥', 'JPY or CNY'],
    ['₺', 'TRL'],
    ['kr', 'SEK, NOK, DKK or ISK'],
  ])('suggests the code for the symbol %j', (text, code) => {
    const message = expectFail(parseCurrency(text), 'INVALID_CURRENCY');
    expect(message).toContain('currency symbol');
    expect(message).toContain(`${code} for ${text}`);
  });

  it.each([
    ['VES', 'write VEF'],
    ['RMB', 'write CNY'],
    ['euro', 'write EUR'],
  ])('suggests the listed code for %j', (text, hint) => {
    expect(expectFail(parseCurrency(text), 'INVALID_CURRENCY')).toContain(hint);
  });

  it("says a valid ISO code is not in Microsoft's list", () => {
    const message = expectFail(parseCurrency('BAM'), 'INVALID_CURRENCY');
    expect(message).toContain("BAM is not in Microsoft's list");
    expect(message).toContain("goal's currency");
  });

  it('refuses text that is no code at all, and an empty cell', () => {
    expect(expectFail(parseCurrency('US Dollars'), 'INVALID_CURRENCY')).toContain(
      '"US Dollars" is not a currency code',
    );
    expect(expectFail(parseCurrency(''), 'INVALID_CURRENCY')).toContain('empty');
  });
});
