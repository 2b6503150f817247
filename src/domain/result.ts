import type { RowErrorCode } from './row-errors.ts';

/** A problem with one field of one row: a stable code and a message that says what to fix. */
export interface FieldProblem {
  code: RowErrorCode;
  message: string;
}

/** The outcome of parsing one field: the value (with notes worth telling the user) or a problem. */
export type FieldResult<T> = { ok: true; value: T; notes?: string[] } | ({ ok: false } & FieldProblem);

export function ok<T>(value: T, notes?: string[]): FieldResult<T> {
  return notes && notes.length > 0 ? { ok: true, value, notes } : { ok: true, value };
}

export function fail<T = never>(code: RowErrorCode, message: string): FieldResult<T> {
  return { ok: false, code, message };
}
