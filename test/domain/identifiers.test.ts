import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  hashEmail,
  hashPhone,
  normalizePhone,
  parseClickId,
  parseHashedEmail,
  parseHashedPhone,
  phoneHashIncludesPlus,
} from '../../src/domain/identifiers.ts';
import { expectFail, expectOk } from './expect-result.ts';

const clickId = 'f894f652ea334e739002f7167ab8f8e3';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('parseClickId', () => {
  it.each([
    [clickId, clickId],
    [clickId.toUpperCase(), clickId],
    [`  ${clickId}\t`, clickId],
  ])('reads %j', (text, expected) => {
    expect(expectOk(parseClickId(text))).toBe(expected);
  });

  it('tells to remove the _uet prefix of the UET cookie', () => {
    const message = expectFail(parseClickId(`_uet${clickId}`), 'INVALID_CLICK_ID');
    expect(message).toContain('remove the _uet prefix');
    expect(message).toContain(clickId);
  });

  it('tells to keep only the value of msclkid= from a URL', () => {
    const message = expectFail(
      parseClickId(`https://example.com/landing?utm_source=bing&msclkid=${clickId}&x=1`),
      'INVALID_CLICK_ID',
    );
    expect(message).toContain('put only the value of its msclkid parameter');
    expect(message).toContain(`(${clickId})`);
    expect(expectFail(parseClickId(`msclkid=${clickId}`), 'INVALID_CLICK_ID')).toContain('only the value');
  });

  it('tells to remove the hyphens of a GUID', () => {
    const message = expectFail(parseClickId('F894F652-EA33-4E73-9002-F7167AB8F8E3'), 'INVALID_CLICK_ID');
    expect(message).toContain('remove them');
    expect(message).toContain(clickId);
  });

  it.each([
    [clickId.slice(0, 31), '31 characters'],
    [`${clickId}0`, '33 characters'],
    [`${clickId.slice(0, 31)}g`, '"g", which is not a hexadecimal digit'],
    ['gclid-abc', '9 characters'],
  ])('refuses %j, quoting it and giving its length', (text, detail) => {
    const message = expectFail(parseClickId(text), 'INVALID_CLICK_ID');
    expect(message).toContain('32 hexadecimal characters');
    expect(message).toContain(`"${text}"`);
    expect(message).toContain(detail);
  });

  it('cuts a long value in the message', () => {
    const message = expectFail(parseClickId('z'.repeat(1000)), 'INVALID_CLICK_ID');
    expect(message).toContain('1000 characters');
    expect(message).not.toContain('z'.repeat(50));
  });

  it('calls an empty click ID missing', () => {
    expect(expectFail(parseClickId('  '), 'MISSING_CLICK_ID')).toContain('empty');
  });
});

describe.each([
  ['parseHashedEmail', parseHashedEmail, 'INVALID_HASHED_EMAIL', 'email address', 'Email'],
  ['parseHashedPhone', parseHashedPhone, 'INVALID_HASHED_PHONE', 'phone number', 'Phone'],
] as const)('%s', (_name, parse, code, what, column) => {
  const hash = sha256('test@contoso.com');

  it('reads a SHA-256 hex digest, lower-casing it', () => {
    expect(expectOk(parse(hash))).toBe(hash);
    expect(expectOk(parse(` ${hash.toUpperCase()} `))).toBe(hash);
  });

  it('sends a plain email or phone to its own column, without repeating it', () => {
    for (const plain of ['jane.doe@example.com', '+1 (425) 555-0100']) {
      const message = expectFail(parse(plain), code);
      expect(message).toContain('not a hash');
      expect(message).toMatch(/put it in the (Email|Phone) column instead so closeloop hashes it/);
      expect(message).not.toContain(plain);
      expect(message).not.toContain('555');
    }
    expect(expectFail(parse('jane.doe@example.com'), code)).toContain('plain email address');
    expect(expectFail(parse('+1 (425) 555-0100'), code)).toContain('plain phone number');
    expect(expectFail(parse('jane@example.com'), code)).toContain(`hashed ${what}`);
    expect(column).toMatch(/Email|Phone/);
  });

  it.each([
    [createHash('md5').update('x').digest('hex'), 'MD5'],
    [createHash('sha1').update('x').digest('hex'), 'SHA-1'],
    [createHash('sha256').update('x').digest('base64'), 'Base64'],
    [hash.slice(0, 63), '63 hexadecimal characters'],
    [`${hash.slice(0, 63)}x`, 'characters other than 0-9 and a-f'],
    ['', 'empty'],
  ])('refuses %j and says why', (text, detail) => {
    const message = expectFail(parse(text), code);
    expect(message).toContain(detail);
    expect(message).toContain('64 hexadecimal characters');
  });
});

describe('hashEmail', () => {
  it("matches Microsoft's test vector", () => {
    expect(expectOk(hashEmail('test@contoso.com'))).toBe(
      'f25ad364d33972379a7a4f4df33db142205f5c40eb19cfdb2fc5aaf117e10101',
    );
  });

  it('trims and lower-cases before hashing, and keeps dots and +tags', () => {
    const expected = 'f25ad364d33972379a7a4f4df33db142205f5c40eb19cfdb2fc5aaf117e10101';
    expect(expectOk(hashEmail('  Test@Contoso.COM \n'))).toBe(expected);
    expect(expectOk(hashEmail('first.last+tag@gmail.com'))).toBe(sha256('first.last+tag@gmail.com'));
  });

  it.each([
    ['', 'is empty'],
    ['jane.fabrikam.com', 'has no @'],
    ['jane@@fabrikam.com', 'more than one @'],
    ['@fabrikam.com', 'nothing before the @'],
    ['jane@', 'nothing after the @'],
    ['jane@localhost', 'no dot in the domain'],
    ['jane@fabrikam..com', 'misplaced dot'],
    ['jane@.fabrikam.com', 'misplaced dot'],
    ['jane doe@fabrikam.com', 'contains a space'],
    ['Jane <jane@fabrikam.com>', 'contains a space'],
    ['jane,doe@fabrikam.com', 'do not use'],
    ['mailto:jane@fabrikam.com', 'remove the mailto: prefix'],
  ])('refuses %j: %s, without repeating the address', (text, problem) => {
    const message = expectFail(hashEmail(text), 'INVALID_EMAIL');
    expect(message).toContain(problem);
    expect(message).toMatch(/^The email address /);
    if (text !== '') expect(message).not.toContain(text);
    expect(message).not.toContain('jane');
  });
});

describe('hashPhone', () => {
  it('hashes the E.164 form, with the + (phoneHashIncludesPlus)', () => {
    expect(phoneHashIncludesPlus).toBe(true);
    expect(expectOk(hashPhone('+14255550100'))).toBe(sha256('+14255550100'));
  });

  it.each([
    ['+1 (425) 555-0100', '+14255550100'],
    ['+1.425.555.0100', '+14255550100'],
    ['001 425 555 0100', '+14255550100'],
    ['+44 (0)20 7946 0000', '+442079460000'],
    ['+44 20 7946 0000', '+442079460000'],
    ['tel:+4930123456', '+4930123456'],
    ['  +49 30 1234567  ', '+49301234567'],
    ['+12345678', '+12345678'],
    ['+123456789012345', '+123456789012345'],
  ])('normalizes %j to %s', (text, e164) => {
    expect(expectOk(normalizePhone(text))).toBe(e164);
    expect(expectOk(hashPhone(text))).toBe(sha256(e164));
  });

  it.each([
    ['(425) 555-0100', 'add the country code, e.g. +1 for the US'],
    ['425-555-0100', 'has no country code'],
    ['+1 425 555 0100 ext 12', 'contains letters'],
    ['+1234567', 'has 7 digits'],
    ['+1234567890123456', 'has 16 digits'],
    ['+0 425 555 0100', 'country codes start with 1 to 9'],
    ['+1 425 555 0100 #2', 'characters other than digits'],
    ['+1 425+555', 'characters other than digits'],
    ['', 'is empty'],
  ])('refuses %j without repeating it', (text, problem) => {
    const message = expectFail(hashPhone(text), 'INVALID_PHONE');
    expect(message).toContain(problem);
    expect(message).not.toContain('425');
  });
});
