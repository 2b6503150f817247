import type { Context } from 'hono';
import { z } from 'zod';
import { uuidPattern } from '../domain/identifiers.ts';
import { nameProblem } from '../domain/names.ts';
import { parseApiTime } from '../domain/time.ts';
import { AppError } from '../errors.ts';

/**
 * Path and query parameters, read through shared zod schemas: every route's parameters are parsed
 * before they reach a service, so a malformed one is a 4xx that names it and what it takes, never a
 * value the database refuses (a 500: NUL in a name, a row number past PostgreSQL's int, limit=1.5, the
 * year 275760, a path id that is not a UUID).
 */

/** closeloop's ids (UUIDs) for `what` ("upload"). */
export const uuid = (what: string) =>
  z.string().regex(uuidPattern, `must be ${what} id, a UUID like 0b6d3c4e-5f7a-4b8c-9d0e-1f2a3b4c5d6e`);

/** A whole number from `min` to `max`, written as digits (no 1.5, 1e3, or 0x10). */
export const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d{1,16}$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be a whole number from ${min} to ${max}`);

/** An instant as the JSON API takes it: ISO 8601 with an offset or Z, a four-digit year from 1900. */
export const instant = z.string().transform((text, ctx) => {
  const parsed = parseApiTime(text);
  if (parsed.ok) return parsed.value;
  ctx.addIssue({ code: 'custom', message: parsed.message });
  return z.NEVER;
});

/** One of `values`. */
export const oneOf = <T extends string>(values: readonly [T, ...T[]]) =>
  z.enum(values, { error: `must be one of ${values.join(', ')}` });

/** A comma-separated list of `values` (empty items ignored). */
export const listOf = <T extends string>(values: readonly [T, ...T[]]) =>
  z
    .string()
    .transform((text) => text.split(',').filter((item) => item !== ''))
    .pipe(z.array(oneOf(values)));

/** Text a person named something with: no control characters, at most `max` characters. */
export const plainText = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .superRefine((text, ctx) => {
      const problem = nameProblem(text);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

/**
 * The path parameter `name`, or a 404 from `notFound`: a path that cannot name anything names nothing
 * (GET /api/v1/uploads/abc answers like an upload that does not exist).
 */
export function pathParam<S extends z.ZodType>(
  c: Context,
  name: string,
  schema: S,
  notFound: (value: string) => string,
): z.output<S> {
  const value = c.req.param(name) ?? '';
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new AppError('not_found', notFound(value));
  return parsed.data;
}

/**
 * The query parameters of `shape`, or a 400 that names each bad one and what it takes. Parameters not
 * in the shape are ignored (a cache-busting `_=` must not fail a request); each is optional.
 */
export function queryParams<S extends z.ZodRawShape>(
  c: Context,
  shape: S,
): z.output<z.ZodObject<{ [K in keyof S]: z.ZodOptional<S[K]> }>> {
  const raw = c.req.query();
  const schema = z.object(shape).partial();
  // An empty parameter (?kind=) is an absent one, as an empty form field is.
  const given = Object.keys(shape).map((key) => [key, raw[key] === '' ? undefined : raw[key]]);
  const parsed = schema.safeParse(Object.fromEntries(given));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => ({
      field: String(i.path[0] ?? ''),
      message: i.message,
    }));
    const text = problems.map((p) => `${p.field}: ${p.message}`).join('; ');
    throw new AppError('bad_request', `Invalid query parameter: ${text}.`, { problems });
  }
  return parsed.data as never;
}
