import type { Context } from 'hono';
import { AppError } from '../errors.ts';
import { payloadTooLarge, readBody, utf8Text } from './body.ts';

/**
 * Largest JSON body read. The largest request is 1,000 conversions (Microsoft's limit per call), each
 * under 1.5 KB with every field at its longest (an e-mail address of 254 characters, a goal name of 100
 * written as \u escapes): 1.5 MB; the rest is room for whitespace.
 */
export const maxJsonBytes = 4 * 1024 * 1024;

/** The request body as JSON, or a 4xx that says what is wrong with it. */
export async function jsonBody(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/(.+\+)?json\b/i.test(type))
    throw new AppError(
      'unsupported_media_type',
      'Send the body as JSON with "Content-Type: application/json".',
    );
  const text = utf8Text(
    await readBody(c, maxJsonBytes, () =>
      payloadTooLarge(maxJsonBytes, 'The JSON body', 'Send at most 1,000 items per request.'),
    ),
    'The JSON body',
  );
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AppError('bad_request', `The body is not valid JSON: ${(err as Error).message}`);
  }
}
