import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { AppError } from '../errors.ts';

/**
 * Request bodies, bounded as they stream. Content-Length is a claim, and a chunked body has none: the
 * bytes are counted as they arrive, and a read that passes the limit fails with 413 at once, with
 * nothing of the body held beyond what its reader keeps. (hono's bodyLimit read a chunked body whole into
 * memory before anything else looked at the request: 20 such requests, unauthenticated, took the
 * service from 0.55 to 1.9 GB, issue 8.)
 */

/** A 413 saying how large `what` may be and what to do (`advice`). */
export function payloadTooLarge(maxBytes: number, what: string, advice: string): AppError {
  return new AppError('payload_too_large', `${what} is larger than ${describeBytes(maxBytes)}. ${advice}`);
}

/**
 * Counts the body of every request as it is read: past `maxBytes` the read fails with `tooLarge()`. A
 * Content-Length already past it is refused before anything is read. What is left of a refused body is
 * not read by closeloop: @hono/node-server discards it for at most 500 ms or 64 MiB after the answer,
 * then closes the connection (a lingering close: closing at once would reset the connection, and the
 * client could lose the answer while it is still sending).
 */
export function limitBody(maxBytes: number, tooLarge: () => AppError) {
  return createMiddleware(async function bodyLimit(c, next) {
    const body = c.req.raw.body;
    if (!body) return next();
    const declared = Number(c.req.header('content-length') ?? Number.NaN);
    if (declared > maxBytes) throw tooLarge();
    let seen = 0;
    const counted = body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen > maxBytes) controller.error(tooLarge());
          else controller.enqueue(chunk);
        },
      }),
    );
    c.req.raw = new Request(c.req.raw, { body: counted, duplex: 'half' } as RequestInit);
    await next();
  });
}

/** The whole body, at most `maxBytes` of it (else `tooLarge()`); an empty array when there is none. */
export async function readBody(c: Context, maxBytes: number, tooLarge: () => AppError): Promise<Uint8Array> {
  const body = c.req.raw.body;
  if (!body) return new Uint8Array(0);
  const declared = Number(c.req.header('content-length') ?? Number.NaN);
  if (declared > maxBytes) throw tooLarge();
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await reader.read();
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError('bad_request', `The request body could not be read (${(err as Error).message}).`);
    }
    if (next.done) break;
    size += next.value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(next.value);
  }
  return Buffer.concat(chunks);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes as UTF-8 text, or a 400 saying they are not: a replacement character would hide the damage. */
export function utf8Text(bytes: Uint8Array, what = 'The request body'): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new AppError('bad_request', `${what} is not valid UTF-8 text. Send it encoded as UTF-8.`);
  }
}

function describeBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${Math.round(bytes / (1024 * 1024))} MiB`;
}
