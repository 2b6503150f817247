import type { Context } from 'hono';
import { AppError } from '../errors.ts';

/** The request body as JSON, or a 400 that says what is wrong with it. */
export async function jsonBody(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/(.+\+)?json\b/i.test(type))
    throw new AppError(
      'unsupported_media_type',
      'Send the body as JSON with "Content-Type: application/json".',
    );
  try {
    return await c.req.json();
  } catch (err) {
    throw new AppError('bad_request', `The body is not valid JSON: ${(err as Error).message}`);
  }
}
