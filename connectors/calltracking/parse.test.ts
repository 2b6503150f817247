import { describe, expect, it } from 'vitest';
import { startTime } from './call-times.ts';
import { CallInputError, decimal, e164, msclkidFromUrl, readValues, seconds } from './parse.ts';
import { requestOf } from './test-support.ts';

describe('msclkidFromUrl', () => {
  it('finds the parameter whatever its case, in absolute and relative URLs', () => {
    expect(msclkidFromUrl('https://ex.com/?msclkid=abc')).toBe('abc');
    expect(msclkidFromUrl('https://ex.com/p?utm_source=bing&MSCLKID=abc#top')).toBe('abc');
    expect(msclkidFromUrl('/landing?MsClkId=abc')).toBe('abc');
    expect(msclkidFromUrl('https://ex.com/?msclkid=a%20b')).toBe('a b');
  });
  it('null when there is none, it is blank, or the URL is not one', () => {
    expect(msclkidFromUrl(null)).toBeNull();
    expect(msclkidFromUrl('https://ex.com/?gclid=x')).toBeNull();
    expect(msclkidFromUrl('https://ex.com/?msclkid=')).toBeNull();
    expect(msclkidFromUrl('http://[::1')).toBeNull();
  });
});

describe('startTime', () => {
  it('epoch seconds and milliseconds by magnitude, to the second', () => {
    expect(startTime('1714571110', 't', 'UTC').toISOString()).toBe('2024-05-01T13:45:10.000Z');
    expect(startTime(1714571110987, 't', 'UTC').toISOString()).toBe('2024-05-01T13:45:10.000Z');
  });
  it('offset-less strings in the zone given; an offset or Z wins over it', () => {
    expect(startTime('2024-05-01 13:45:10', 't', 'UTC').toISOString()).toBe('2024-05-01T13:45:10.000Z');
    expect(startTime('2024-05-01T15:45:10', 't', 'Europe/Paris').toISOString()).toBe(
      '2024-05-01T13:45:10.000Z',
    );
    expect(startTime('2024-05-01T15:45:10+0200', 't', 'Asia/Tokyo').toISOString()).toBe(
      '2024-05-01T13:45:10.000Z',
    );
    expect(startTime('2024-05-01 13:45:10 GMT', 't', 'Asia/Tokyo').toISOString()).toBe(
      '2024-05-01T13:45:10.000Z',
    );
    expect(startTime('2024-05-01T13:45:10.250Z', 't', 'Asia/Tokyo').toISOString()).toBe(
      '2024-05-01T13:45:10.000Z',
    );
  });
  it('fall back takes the earlier instant; spring forward is an error', () => {
    expect(startTime('2024-10-27 01:30:00', 't', 'Europe/London').toISOString()).toBe(
      '2024-10-27T00:30:00.000Z',
    );
    expect(() => startTime('2024-03-31 01:30:00', 't', 'Europe/London')).toThrow(
      'field "t": 2024-03-31 01:30:00 does not exist in Europe/London',
    );
  });
  it('errors name the field and the formats expected', () => {
    expect(() => startTime('', 'dt', 'UTC')).toThrow(
      new CallInputError('field "dt": missing the call\'s start time'),
    );
    expect(() => startTime('May 1', 'dt', 'UTC')).toThrow(
      /field "dt": expected epoch seconds or milliseconds/,
    );
  });
});

describe('strict numbers and callers', () => {
  it('seconds: numbers, numeric strings and clock times; never a blank as 0', () => {
    expect(seconds(185, 'd')).toBe(185);
    expect(seconds('185.6', 'd')).toBe(186);
    expect(seconds('1:02:03', 'd')).toBe(3723);
    expect(seconds('', 'd')).toBeNull();
    expect(() => seconds('1e3', 'd')).toThrow('field "d": expected seconds');
  });
  it('decimal keeps the text as written', () => {
    expect(decimal('0010.50', 'v')).toBe('0010.50');
    expect(decimal(12.5, 'v')).toBe('12.5');
    expect(() => decimal('1.234,56', 'v')).toThrow('field "v": expected a number such as 12.50');
  });
  it('e164 accepts formatted international numbers only', () => {
    expect(e164('+44 (0)20', 'c')).toBeNull();
    expect(e164('+1 (312) 555-0142', 'c')).toBe('+13125550142');
    expect(e164('0044 7700 900123', 'c')).toBe('+447700900123');
    expect(e164('anonymous', 'c')).toBeNull();
  });
});

describe('readValues', () => {
  it('GET reads the query; POST reads the body over the query', () => {
    expect(readValues(requestOf({ method: 'GET', query: { a: '1' } }))).toEqual({ a: '1' });
    expect(readValues(requestOf({ body: 'a=2&b=3', query: { a: '1', token: 't' } }))).toEqual({
      a: '2',
      b: '3',
      token: 't',
    });
  });
  it("sniffs the format when the Content-Type says nothing, and keeps a repeated form name's first value", () => {
    expect(readValues(requestOf({ body: ' {"a":1}' }))).toEqual({ a: 1 });
    expect(readValues(requestOf({ body: '<call a="1"><b>2</b></call>' }))).toEqual({ a: '1', b: '2' });
    expect(readValues(requestOf({ body: 'a=1&a=2' }))).toEqual({ a: '1' });
  });
  it('an XML body with a DOCTYPE is refused before its entities are read', () => {
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE call [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><call><id>&b;</id></call>';
    expect(() =>
      readValues(requestOf({ headers: { 'content-type': 'application/xml' }, body: laughs })),
    ).toThrow('XML body must not declare a DOCTYPE');
  });
  it('an XML body without one root element holding fields is refused', () => {
    expect(() =>
      readValues(requestOf({ headers: { 'content-type': 'text/xml' }, body: '<call>1</call>' })),
    ).toThrow(/one root element holding the call's fields/);
  });
});
