import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { checkLiteral, guardedLookup } from './guarded-lookup.ts';
import { networkError, SourceError, tooLarge } from './source-error.ts';
import {
  defaultMaxRedirects,
  defaultTimeoutMs,
  defaultTotalTimeoutMs,
  type FetchedFile,
  type FetchLimits,
  type SourceCredentials,
  shownUrl,
  urlFilename,
} from './types.ts';

/**
 * Download an HTTP(S) source: node's own client with a guarded lookup (each connection's resolved
 * address is checked, redirects included), basic authentication, redirects followed by hand (at most
 * `maxRedirects`; credentials are sent to the first origin only), a timeout on connecting and on every
 * pause, one on the whole download, and the size limit counted as the body streams (a Content-Length
 * over it is refused before reading).
 */
export async function fetchHttp(
  url: URL,
  credentials: SourceCredentials,
  limits: FetchLimits,
): Promise<FetchedFile> {
  const maxRedirects = limits.maxRedirects ?? defaultMaxRedirects;
  const deadline = AbortSignal.timeout(limits.totalTimeoutMs ?? defaultTotalTimeoutMs);
  let current = url;
  for (let redirects = 0; ; redirects++) {
    const sameOrigin = current.origin === url.origin;
    const { response, timedOut } = await get(current, sameOrigin ? credentials : {}, limits, deadline);
    const status = response.statusCode ?? 0;
    const where = shownUrl(current);
    if (status >= 300 && status < 400 && response.headers.location) {
      response.resume();
      if (redirects >= maxRedirects)
        throw new SourceError(
          'too_many_redirects',
          `${shownUrl(url)}: more than ${maxRedirects} redirects. Use the URL the file finally lives at.`,
        );
      const next = new URL(response.headers.location, current);
      if (next.protocol !== 'http:' && next.protocol !== 'https:')
        throw new SourceError(
          'bad_url',
          `${where} redirects to ${next.protocol} URL, which closeloop does not follow.`,
        );
      current = next;
      continue;
    }
    if (status !== 200) {
      response.resume();
      throw statusError(status, where, Boolean(credentials.username));
    }
    const bytes = await readBody(response, where, limits.maxBytes).catch((err) => {
      throw timedOut() ? timeoutError(where, limits) : err;
    });
    return { bytes, filename: urlFilename(current) };
  }
}

function statusError(status: number, where: string, withCredentials: boolean): SourceError {
  if (status === 401)
    return new SourceError(
      'unauthorized',
      withCredentials
        ? `${where}: the server refused the user name and password (HTTP 401). Check them, and set the password again if it changed.`
        : `${where}: the server asks for a user name and password (HTTP 401). Give them with --username and --password-env.`,
    );
  if (status === 403)
    return new SourceError(
      'forbidden',
      `${where}: access is forbidden (HTTP 403). For a Google Sheet, publish it to the web (File › Share › Publish to web) and use that link.`,
    );
  if (status === 404 || status === 410)
    return new SourceError(
      'not_found',
      `${where}: no file there (HTTP ${status}). Check the path in the URL.`,
    );
  return new SourceError(
    'http_error',
    `${where}: the server answered HTTP ${status} instead of the file.${status >= 500 ? ' It may be down; closeloop tries again later.' : ''}`,
  );
}

function get(
  url: URL,
  credentials: SourceCredentials,
  limits: FetchLimits,
  deadline: AbortSignal,
): Promise<{ response: IncomingMessage; timedOut: () => boolean }> {
  checkLiteral(limits.policy, url.hostname);
  const where = shownUrl(url);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const auth =
    credentials.username !== undefined
      ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password ?? ''}`).toString('base64')}`
      : undefined;
  let timedOut = false;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        lookup: guardedLookup(limits.policy) as never,
        // One connection per request: a pooled socket would skip the lookup (and its check).
        agent: false,
        timeout: limits.timeoutMs ?? defaultTimeoutMs,
        signal: deadline,
        headers: {
          'user-agent': 'closeloop scheduled import',
          accept: 'text/csv, application/vnd.openxmlformats-officedocument.spreadsheetml.sheet, */*',
          ...(auth ? { authorization: auth } : {}),
        },
        ...(limits.ca ? { ca: limits.ca } : {}),
      },
      (response) => resolve({ response, timedOut: () => timedOut }),
    );
    req.on('timeout', () => {
      timedOut = true;
      req.destroy(timeoutError(where, limits));
    });
    req.on('error', (err) => reject(deadlineError(err, deadline, where, limits) ?? networkError(err, where)));
    req.end();
  });
}

function timeoutError(where: string, limits: FetchLimits): SourceError {
  const s = Math.round((limits.timeoutMs ?? defaultTimeoutMs) / 100) / 10;
  return new SourceError(
    'timeout',
    `${where}: the server stopped answering for ${s} s (connecting or sending the file). Check that it is up; closeloop tries again later.`,
  );
}

function deadlineError(
  err: unknown,
  deadline: AbortSignal,
  where: string,
  limits: FetchLimits,
): SourceError | undefined {
  if (!deadline.aborted || err instanceof SourceError) return undefined;
  const total = Math.round((limits.totalTimeoutMs ?? defaultTotalTimeoutMs) / 1000);
  return new SourceError(
    'timeout',
    `${where}: the download took longer than ${total} s. Check the server, or make the file smaller.`,
  );
}

async function readBody(response: IncomingMessage, where: string, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.destroy();
    throw tooLarge(where, maxBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        response.destroy();
        throw tooLarge(where, maxBytes);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof SourceError) throw err;
    if ((err as Error).name === 'AbortError')
      throw new SourceError('timeout', `${where}: the download took too long and was stopped.`);
    if ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || (err as Error).message === 'aborted')
      throw truncated(where, size, declared);
    throw networkError(err, where);
  }
  // The connection closed before the announced length arrived: a cut-off file, never a short import.
  if (!response.complete || (Number.isFinite(declared) && size < declared))
    throw truncated(where, size, declared);
  return Buffer.concat(chunks);
}

function truncated(where: string, got: number, declared: number): SourceError {
  return new SourceError(
    'truncated',
    `${where}: the connection closed after ${got.toLocaleString('en-US')}${Number.isFinite(declared) ? ` of ${declared.toLocaleString('en-US')}` : ''} bytes; the file did not arrive whole. closeloop imports nothing from it and tries again later.`,
  );
}
