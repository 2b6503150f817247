import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressPolicy } from './address-policy.ts';
import { checkLiteral, guardedLookup } from './guarded-lookup.ts';
import { megabytes, networkError, SourceError } from './source-error.ts';

/** Largest answer a guarded fetch reads (a polled API's page). */
export const guardedFetchMaxBytes = 16 * 1024 * 1024;

/**
 * A `fetch` for API clients whose address a user typed (a polled call-tracking provider's base URL):
 * node's own client with the scheduled sources' guarded lookup, so it connects only to addresses
 * `policy` allows (not to 127.0.0.1, the metadata service or the database, unless
 * CLOSELOOP_ALLOW_PRIVATE_SOURCES says so). Redirects are not followed (a 3xx is the answer), the body is
 * read whole up to `maxBytes`, and each request has a connection of its own (a pooled socket would skip
 * the lookup). Takes what the pollers pass: method, headers, a string body and a signal.
 */
export function guardedFetch(
  policy: AddressPolicy,
  { maxBytes = guardedFetchMaxBytes, timeoutMs = 60_000 }: { maxBytes?: number; timeoutMs?: number } = {},
): typeof globalThis.fetch {
  return async function fetch(input, init = {}) {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const where = `${url.protocol}//${url.host}${url.pathname}`;
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new SourceError('bad_url', `${where}: only http and https addresses can be read.`);
    checkLiteral(policy, url.hostname);
    const headers = new Headers(init.headers);
    const body = init.body === undefined || init.body === null ? undefined : String(init.body);
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
        url,
        {
          method: init.method ?? 'GET',
          headers: Object.fromEntries(headers),
          lookup: guardedLookup(policy) as never,
          agent: false,
          timeout: timeoutMs,
          ...(init.signal ? { signal: init.signal } : {}),
        },
        resolve,
      );
      req.on('timeout', () =>
        req.destroy(new SourceError('timeout', `${where}: no answer for ${Math.round(timeoutMs / 1000)} s.`)),
      );
      req.on('error', (err) => reject(networkError(err, where)));
      req.end(body);
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        response.destroy();
        throw new SourceError(
          'too_large',
          `${where}: the answer is over ${megabytes(maxBytes)}; closeloop stopped reading it.`,
        );
      }
      chunks.push(chunk);
    }
    const answer = new Headers();
    for (const [name, value] of Object.entries(response.headers))
      for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value])
        answer.append(name, v);
    const status = response.statusCode ?? 502;
    const nullBody = status === 204 || status === 304 || (init.method ?? 'GET') === 'HEAD';
    return new Response(nullBody ? null : Buffer.concat(chunks), {
      status,
      statusText: response.statusMessage ?? '',
      headers: answer,
    });
  };
}
