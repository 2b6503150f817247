import { quote } from './quote.ts';
import { type FieldResult, fail, ok } from './result.ts';

/*
 * Conversion Value, Adjustment Value and their currency. Microsoft's offline conversion import takes
 * 0 to 999999999999 with at most 3 decimals and a period as the decimal separator (DESIGN.md, "Rules
 * from Microsoft's offline conversion documentation"); the API field itself is a double with no
 * documented range (reference/msads-api.md §1), so the import rules are the ones enforced.
 */

const maxValue = 999_999_999_999;
const maxDecimals = 3;
const example = 'write digits with a period for decimals, e.g. 1234.50';

const plainNumber = /^\+?(\d*)(?:\.(\d*))?$/;
// 1,234 / 1,234,567.50: groups of three after the first comma.
const commaThousands = /^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$/;
// 1.234,50 / 1.234.567,50: periods for thousands and a decimal comma (German, Spanish, …).
const periodThousandsCommaDecimal = /^[+-]?\d{1,3}(?:\.\d{3})+,\d+$/;
const commaDecimal = /^[+-]?\d*,\d+$/;
// Other thousands separators: space, narrow/no-break space, apostrophe (Swiss 1'234.50).
const otherSeparators = /^[+-]?\d{1,3}(?:[\s\u00a0\u202f'’]\d{3})+(?:[.,]\d+)?$/;

/** Symbols people type next to amounts → the code to put in the currency column. */
const currencySymbols: ReadonlyArray<[symbol: string, code: string]> = [
  // Prefixed dollars first so "US$" is not read as "$".
  ['US$', 'USD'],
  ['CA$', 'CAD'],
  ['C$', 'CAD'],
  ['AU$', 'AUD'],
  ['A$', 'AUD'],
  ['NZ$', 'NZD'],
  ['HK$', 'HKD'],
  ['S$', 'SGD'],
  ['NT$', 'TWD'],
  ['R$', 'BRL'],
  ['$', 'USD'],
  ['€', 'EUR'],
  ['£', 'GBP'],
  ['¥', 'JPY or CNY'],
  ['₹', 'INR'],
  ['₩', 'KRW'],
  ['₺', 'TRL'],
  ['₽', 'RUB'],
  ['₴', 'UAH'],
  ['₱', 'PHP'],
  ['฿', 'THB'],
  ['₫', 'VND'],
  ['₪', 'ILS'],
  ['₦', 'NGN'],
  ['zł', 'PLN'],
  ['kr', 'SEK, NOK, DKK or ISK'],
  ['CHF', 'CHF'],
];

/** Reads a Conversion Value or Adjustment Value. The caller handles an empty cell. */
export function parseValue(text: string): FieldResult<number> {
  const trimmed = text.trim();
  const m = plainNumber.exec(trimmed);
  if (m && (m[1] !== '' || (m[2] !== undefined && m[2] !== ''))) {
    const integerDigits = m[1]!.replace(/^0+/, '');
    // Trailing zeros carry no value: 12.5000 is 12.5 and is accepted.
    const decimals = (m[2] ?? '').replace(/0+$/, '');
    if (decimals.length > maxDecimals) {
      const q = quote(trimmed);
      const rounded = Number(Number(trimmed).toFixed(maxDecimals));
      return fail(
        'VALUE_TOO_MANY_DECIMALS',
        `The value ${q} has ${decimals.length} decimal places; Microsoft accepts at most ${maxDecimals}. Round it, e.g. to ${rounded}.`,
      );
    }
    const value = Number(trimmed);
    if (integerDigits.length > 12 || value > maxValue) {
      return fail(
        'VALUE_OUT_OF_RANGE',
        `The value ${quote(trimmed)} is larger than 999999999999, the largest value Microsoft accepts; check the amount (or its unit).`,
      );
    }
    return ok(value);
  }

  const q = quote(trimmed);
  if (/^-(?:\d+\.?\d*|\.\d+)$/.test(trimmed)) {
    if (Number(trimmed) === 0) return ok(0);
    return fail(
      'VALUE_NEGATIVE',
      `The value ${q} is negative; Microsoft accepts 0 to 999999999999. To lower a conversion that was already sent, ` +
        'send a Restate adjustment with the new value, or a Retract to withdraw it.',
    );
  }

  if (trimmed.includes(',')) {
    const commaProblem = commaMessage(trimmed);
    if (commaProblem) return fail('VALUE_COMMA_DECIMAL', commaProblem);
  }

  if (otherSeparators.test(trimmed)) {
    const fixed = trimmed.replace(/[\s\u00a0\u202f'’]/g, '').replace(',', '.');
    if (trimmed.includes(',')) {
      return fail(
        'VALUE_COMMA_DECIMAL',
        `The value ${q} uses a comma as the decimal separator and a thousands separator; remove the thousands separator and use a period: ${fixed}.`,
      );
    }
    return fail(
      'INVALID_VALUE',
      `The value ${q} has a thousands separator; remove the thousands separator: ${fixed}.`,
    );
  }

  const symbol = currencySymbols.find(([s]) => startsOrEndsWith(trimmed, s));
  if (symbol) {
    const [s, code] = symbol;
    const amount = stripAffix(trimmed, s);
    const inner = parseValue(amount);
    const write = inner.ok ? ` (write ${amount})` : '';
    const then = inner.ok ? '' : ` Then: ${inner.message}`;
    return fail(
      'INVALID_VALUE',
      `The value ${q} contains the currency symbol ${s}; remove the currency symbol${write} and put the currency code ` +
        `(${code} for ${s}) in the currency column.${then}`,
    );
  }
  const code = /^([A-Za-z]{3})\s*([\d.,]+)$|^([\d.,]+)\s*([A-Za-z]{3})$/.exec(trimmed);
  const letters = (code?.[1] ?? code?.[4])?.toUpperCase();
  if (code && letters && (msadsCurrencies.has(letters) || Object.hasOwn(currencySuggestions, letters))) {
    const amount = code[2] ?? code[3];
    return fail(
      'INVALID_VALUE',
      `The value ${q} contains the currency code ${letters}; write only the amount (${amount}) and put ${letters} in the currency column.`,
    );
  }

  if (/^[+-]?(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+$/.test(trimmed)) {
    return fail('INVALID_VALUE', `The value ${q} is in exponent notation; ${example} (no e or E).`);
  }
  return fail('INVALID_VALUE', `The value ${q} is not a number; ${example}.`);
}

/** The VALUE_COMMA_DECIMAL message for a value that uses a comma as a separator, if that is what it is. */
function commaMessage(text: string): string | undefined {
  const q = quote(text);
  const unsigned = text.replace(/^[+-]/, '');
  if (periodThousandsCommaDecimal.test(text)) {
    const fixed = unsigned.replaceAll('.', '').replace(',', '.');
    return `The value ${q} uses periods for thousands and a comma for decimals; write it with no thousands separator and a period: ${fixed}.`;
  }
  if (commaThousands.test(text)) {
    const fixed = unsigned.replaceAll(',', '');
    // "1,234" alone could be either 1234 or 1.234; say both.
    if (!text.includes('.') && /^[+-]?\d{1,3},\d{3}$/.test(text)) {
      return `The value ${q} uses a comma: write ${fixed} if the comma separates thousands (remove the thousands separator), or ${unsigned.replace(',', '.')} if it is the decimal separator (use a period).`;
    }
    return `The value ${q} has a thousands separator; remove the thousands separator: ${fixed}.`;
  }
  if (commaDecimal.test(text)) {
    return `The value ${q} uses a comma as the decimal separator; use a period: ${text.replace(',', '.')}.`;
  }
  return undefined;
}

function startsOrEndsWith(text: string, affix: string): boolean {
  const lower = text.toLowerCase();
  const a = affix.toLowerCase();
  if (!lower.startsWith(a) && !lower.endsWith(a)) return false;
  return /\d/.test(stripAffix(text, affix));
}

function stripAffix(text: string, affix: string): string {
  const lower = text.toLowerCase();
  const a = affix.toLowerCase();
  const rest = lower.startsWith(a) ? text.slice(affix.length) : text.slice(0, text.length - affix.length);
  return rest.trim();
}

/**
 * Microsoft's conversion goal revenue currencies: the 100 codes of the "Conversion Goal Revenue
 * Currencies" table in MicrosoftDocs/Advertising-docs `Advertising/bingads-13/guides/currencies.md`
 * (commit 62cf01ec6ac27a2aeaefc3f9f9043f539dfd1de7), which OfflineConversion.ConversionCurrencyCode
 * refers to. Note TRL (not TRY), VEF (not VES) and HRK, exactly as listed there.
 */
// biome-ignore format: ten codes a line keeps the list checkable against the source table
export const msadsCurrencies: ReadonlySet<string> = new Set([
  'AED', 'ALL', 'AMD', 'ARS', 'AUD', 'AZN', 'BDT', 'BGN', 'BHD', 'BND',
  'BOB', 'BRL', 'BWP', 'BZD', 'CAD', 'CHF', 'CLP', 'CNY', 'COP', 'CRC',
  'CZK', 'DKK', 'DOP', 'DZD', 'EGP', 'ETB', 'EUR', 'FJD', 'GBP', 'GEL',
  'GHS', 'GTQ', 'HKD', 'HNL', 'HRK', 'HUF', 'IDR', 'ILS', 'INR', 'IQD',
  'ISK', 'JMD', 'JOD', 'JPY', 'KES', 'KGS', 'KRW', 'KWD', 'KZT', 'LBP',
  'LKR', 'LYD', 'MAD', 'MKD', 'MNT', 'MOP', 'MUR', 'MVR', 'MWK', 'MXN',
  'MYR', 'NGN', 'NIO', 'NOK', 'NZD', 'OMR', 'PAB', 'PEN', 'PHP', 'PKR',
  'PLN', 'PYG', 'QAR', 'RON', 'RSD', 'RUB', 'RWF', 'SAR', 'SEK', 'SGD',
  'THB', 'TND', 'TOP', 'TRL', 'TTD', 'TWD', 'TZS', 'UAH', 'UGX', 'USD',
  'UYU', 'UZS', 'VEF', 'VND', 'XAF', 'XCD', 'XOF', 'YER', 'ZAR', 'ZMW',
]);

/** Codes and words people use that Microsoft's list spells differently. */
const currencySuggestions: Readonly<Record<string, string>> = {
  TRY: 'TRL',
  VES: 'VEF',
  RMB: 'CNY',
  NTD: 'TWD',
  EURO: 'EUR',
  EUROS: 'EUR',
};

/** Reads a Conversion Currency or Adjustment Currency code; returns it in upper case. */
export function parseCurrency(text: string): FieldResult<string> {
  const trimmed = text.trim();
  const upper = trimmed.toUpperCase();
  if (msadsCurrencies.has(upper)) return ok(upper);

  const listed =
    "Microsoft's list of conversion currencies (https://learn.microsoft.com/advertising/guides/currencies#conversiongoalrevenue)";
  if (trimmed === '') {
    return fail('INVALID_CURRENCY', `The currency is empty; write a code from ${listed}, e.g. USD.`);
  }
  const suggestion = currencySuggestions[upper];
  if (upper === 'TRY') {
    return fail('INVALID_CURRENCY', `Microsoft's list has the Turkish lira as TRL, not TRY; write TRL.`);
  }
  if (suggestion) {
    return fail('INVALID_CURRENCY', `${quote(trimmed)} is not in ${listed}; write ${suggestion}.`);
  }
  const symbol = currencySymbols.find(([s]) => s.toUpperCase() === upper);
  if (symbol) {
    return fail(
      'INVALID_CURRENCY',
      `${quote(trimmed)} is a currency symbol; write the three-letter code instead, e.g. ${symbol[1]} for ${symbol[0]}.`,
    );
  }
  if (/^[A-Z]{3}$/.test(upper)) {
    return fail(
      'INVALID_CURRENCY',
      `${upper} is not in ${listed}; use one of its codes or leave the cell empty to use the goal's currency.`,
    );
  }
  return fail(
    'INVALID_CURRENCY',
    `${quote(trimmed)} is not a currency code; write a three-letter code from ${listed}, e.g. USD.`,
  );
}

/**
 * A value as people write money: the database keeps three decimals (numeric(15,3) gives "129.900"), so
 * trailing zeros go, and a value with cents keeps two decimals: 129.90, 45, 0.125.
 */
export function formatValue(value: string | number): string {
  const text = typeof value === 'number' ? String(value) : value;
  const m = /^(-?\d+)(?:\.(\d*?)0*)?$/.exec(text);
  if (!m) return text;
  const [, whole, decimals = ''] = m;
  if (decimals === '') return whole!;
  return `${whole}.${decimals.padEnd(2, '0')}`;
}
