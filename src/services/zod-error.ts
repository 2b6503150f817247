import type { z } from 'zod';
import { AppError } from '../errors.ts';

/** A zod failure as one validation error whose message names every field that is wrong. */
export function validationError(error: z.ZodError, what: string): AppError {
  const problems = error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
  const text = problems.map((p) => `${p.field}: ${p.message}`).join('; ');
  return new AppError('validation_failed', `Invalid ${what}: ${text}`, { problems });
}
