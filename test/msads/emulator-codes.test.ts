import { describe, expect, it } from 'vitest';
import { emulatorErrorCodes, errorName } from '../../src/msads/emulator/faults.ts';
import { parseIsoInstant } from '../../src/msads/emulator/iso-time.ts';
import { errorInfo, knownErrorCodes } from '../../src/msads/error-codes.ts';

describe('emulator error vocabulary', () => {
  it('names every code the way src/msads/error-codes.ts does', () => {
    const shared = emulatorErrorCodes.filter((code) => knownErrorCodes.includes(code));
    expect(shared.length).toBeGreaterThan(30);
    for (const code of shared) expect(errorName(code), String(code)).toBe(errorInfo(code).name);
  });
});

describe('emulator ISO 8601 reader', () => {
  it.each([
    ['2026-02-28T10:00:00Z', '2026-02-28T10:00:00.000Z'],
    ['2026-02-28T10:00:00.5Z', '2026-02-28T10:00:00.500Z'],
    ['2026-02-28T10:00:00.1234567Z', '2026-02-28T10:00:00.123Z'],
    ['2026-02-28T12:30:00+02:30', '2026-02-28T10:00:00.000Z'],
    ['2026-02-28T05:00:00-0500', '2026-02-28T10:00:00.000Z'],
    ['2026-02-28T10:00:00', '2026-02-28T10:00:00.000Z'],
    ['2026-02-28T10:00', '2026-02-28T10:00:00.000Z'],
    ['2026-02-28', '2026-02-28T00:00:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['0001-01-01T00:00:00', '0001-01-01T00:00:00.000Z'],
  ])('reads %s', (text, iso) => {
    expect(new Date(parseIsoInstant(text)!).toISOString()).toBe(iso);
  });

  it.each([
    '06/01/2017 1:00 PM',
    '2026-13-01T00:00:00Z',
    '2026-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-02-28T24:00:00Z',
    '2026-02-28T10:60:00Z',
    '2026-02-28 10:00:00Z',
    '2026-02-28T10:00:00+15:00',
    '1772272800',
    '',
  ])('refuses %j', (text) => {
    expect(parseIsoInstant(text)).toBeUndefined();
  });
});
