import { describe, expect, it } from 'vitest';
import {
  type CanonicalColumn,
  columnLetter,
  columnTitles,
  matchHeader,
  requiredColumns,
  templateHeaderLine,
} from '../../src/ingest/template.ts';

describe('matchHeader', () => {
  it.each<[string, CanonicalColumn]>([
    ['Microsoft Click Id', 'clickId'],
    ['Microsoft Click ID', 'clickId'],
    ['microsoft click id', 'clickId'],
    ['  Microsoft   Click  Id  ', 'clickId'],
    ['Microsoft_Click_Id', 'clickId'],
    ['microsoft-click-id', 'clickId'],
    ['MicrosoftClickId', 'clickId'],
    ['Click Id', 'clickId'],
    ['Click ID', 'clickId'],
    ['ClickId', 'clickId'],
    ['MSCLKID', 'clickId'],
    ['msclkid', 'clickId'],
    ['Conversion Name', 'conversionName'],
    ['CONVERSION_NAME', 'conversionName'],
    ['Conversion Time', 'conversionTime'],
    ['Conversion Time (UTC)', 'conversionTime'],
    ['Conversion Value', 'conversionValue'],
    ['Conversion Currency', 'conversionCurrency'],
    ['Conversion Currency Code', 'conversionCurrency'],
    ['Adjustment Value', 'adjustmentValue'],
    ['Adjustment Currency', 'adjustmentCurrency'],
    ['Adjustment Currency Code', 'adjustmentCurrency'],
    ['Adjustment Type', 'adjustmentType'],
    ['Adjustment Time', 'adjustmentTime'],
    ['Hashed Email Address', 'hashedEmail'],
    ['Hashed Email', 'hashedEmail'],
    ['Hashed Phone Number', 'hashedPhone'],
    ['Email', 'email'],
    ['E-mail', 'email'],
    ['Email Address', 'email'],
    ['Phone', 'phone'],
    ['Phone Number', 'phone'],
    ['\u00a0Conversion\u00a0Name\u00a0', 'conversionName'],
    ['\ufeffMicrosoft Click Id', 'clickId'],
  ])('%j → %s', (cell, column) => {
    expect(matchHeader(cell)).toBe(column);
  });

  it.each(['', 'Notes', 'Name', 'Time', 'Value', 'Currency', 'Microsoft', 'Conversion'])(
    '%j is no column',
    (cell) => {
      expect(matchHeader(cell)).toBeUndefined();
    },
  );

  it('matches every canonical title to its own column', () => {
    for (const [column, title] of Object.entries(columnTitles)) expect(matchHeader(title)).toBe(column);
  });
});

describe('columnLetter', () => {
  it.each([
    [0, 'A'],
    [1, 'B'],
    [25, 'Z'],
    [26, 'AA'],
    [27, 'AB'],
    [51, 'AZ'],
    [52, 'BA'],
    [701, 'ZZ'],
    [702, 'AAA'],
    [16_383, 'XFD'],
  ])('%i → %s', (index, letters) => {
    expect(columnLetter(index)).toBe(letters);
  });
});

describe('template columns', () => {
  it('requires name and time, and for adjustments type and time too', () => {
    expect(requiredColumns.conversions).toEqual(['conversionName', 'conversionTime']);
    expect(requiredColumns.adjustments).toEqual([
      'conversionName',
      'conversionTime',
      'adjustmentType',
      'adjustmentTime',
    ]);
  });

  it("shows Microsoft's header line", () => {
    expect(templateHeaderLine('conversions')).toBe(
      'Microsoft Click Id,Conversion Name,Conversion Time,Conversion Value,Conversion Currency',
    );
    expect(templateHeaderLine('adjustments')).toContain('Adjustment Type,Adjustment Time');
  });
});
