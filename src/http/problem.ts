import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { AppError, type ErrorCode, errorStatus } from '../errors.ts';

/** RFC 9457 problem details: one JSON error shape for every route. */
export function problem(c: Context, code: ErrorCode, detail: string, extra: Record<string, unknown> = {}) {
  const status = errorStatus[code];
  return c.body(
    JSON.stringify({ type: `https://closeloop.dev/problems/${code}`, title: code, status, detail, ...extra }),
    status,
    { 'content-type': 'application/problem+json' },
  );
}

export function onError(log: (msg: string, err: unknown) => void) {
  return function handleError(err: Error, c: Context) {
    if (err instanceof AppError)
      return problem(c, err.code, err.message, err.details ? { details: err.details } : {});
    if (err instanceof HTTPException) {
      if (err.status === 413)
        return problem(
          c,
          'payload_too_large',
          'The request body is too large; split the file or raise CLOSELOOP_MAX_UPLOAD_MB.',
        );
      return problem(c, 'bad_request', err.message || 'Bad request.');
    }
    log('unhandled error', err);
    return problem(
      c,
      'internal',
      'Something went wrong on our side; nothing you sent was half-applied. Try again, and check the server log.',
    );
  };
}
