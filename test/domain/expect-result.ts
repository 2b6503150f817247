import { expect } from 'vitest';
import type { FieldResult } from '../../src/domain/result.ts';
import type { RowErrorCode } from '../../src/domain/row-errors.ts';

/** The value of a successful result; fails the test with the problem otherwise. */
export function expectOk<T>(result: FieldResult<T>): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.code}: ${result.message}`);
  return result.value;
}

/** The message of a failed result with the given code; fails the test otherwise. */
export function expectFail<T>(result: FieldResult<T>, code: RowErrorCode): string {
  if (result.ok) throw new Error(`expected ${code}, got ok: ${JSON.stringify(result.value)}`);
  expect(result.code, result.message).toBe(code);
  // The caller adds the row and column; a message that names them would say it twice.
  expect(result.message).not.toMatch(/\brow\b|\bcolumn [A-Z]\b/i);
  return result.message;
}
