import type { WireTokenError, WireTokenResponse } from './wire.ts';

/**
 * One POST to the Microsoft identity platform's token endpoint (form-urlencoded, §6), for both grants
 * closeloop uses: refresh_token (every hour or so) and authorization_code (`closeloop auth login`).
 * Tokens never appear in an error message or a log line.
 */

/** The token endpoint said no, or could not be reached. `retryable`: try again later, nothing to fix. */
export class TokenEndpointError extends Error {
  override name = 'TokenEndpointError';
  readonly retryable: boolean;
  /** HTTP status; undefined when no answer came (network, timeout). */
  readonly status: number | undefined;
  /** OAuth `error` (invalid_grant, invalid_client, …) when the endpoint sent one. */
  readonly oauthError: string | undefined;
  readonly description: string | undefined;
  constructor(
    message: string,
    o: { retryable: boolean; status?: number; oauthError?: string; description?: string; cause?: unknown },
  ) {
    super(message, o.cause === undefined ? undefined : { cause: o.cause });
    this.retryable = o.retryable;
    this.status = o.status;
    this.oauthError = o.oauthError;
    this.description = o.description;
  }
}

export interface TokenRequest {
  url: string;
  params: Record<string, string | undefined>;
  fetch?: typeof fetch;
  /** @default 30_000 */
  timeoutMs?: number;
}

export interface TokenGrant {
  accessToken: string;
  /** Present when the endpoint rotated it (persist it and drop the old one) or on a code grant. */
  refreshToken: string | undefined;
  expiresInSeconds: number;
}

export async function requestToken({
  url,
  params,
  fetch: fetchFn = fetch,
  timeoutMs = 30_000,
}: TokenRequest): Promise<TokenGrant> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) body.set(k, v);
  let res: Response;
  let text: string;
  try {
    res = await fetchFn(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await res.text();
  } catch (err) {
    const why =
      (err as Error).name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : ((err as Error).message ?? String(err));
    throw new TokenEndpointError(
      `The token endpoint ${hostOf(url)} could not be reached (${why}); retryable.`,
      {
        retryable: true,
        cause: err,
      },
    );
  }
  const json = parseJson(text);
  if (!res.ok) {
    const e = (json ?? {}) as Partial<WireTokenError>;
    const oauthError = typeof e.error === 'string' ? e.error : undefined;
    const description = typeof e.error_description === 'string' ? firstLine(e.error_description) : undefined;
    // 5xx, 429 and 408 are the endpoint's trouble, not ours: the same request may succeed later.
    const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
    throw new TokenEndpointError(
      `The token endpoint ${hostOf(url)} answered HTTP ${res.status}${oauthError ? ` ${oauthError}` : ''}${description ? `: ${description}` : ''}${retryable ? '; retryable' : ''}.`,
      {
        retryable,
        status: res.status,
        ...(oauthError ? { oauthError } : {}),
        ...(description ? { description } : {}),
      },
    );
  }
  const ok = (json ?? {}) as Partial<WireTokenResponse>;
  const expires = Number(ok.expires_in);
  if (typeof ok.access_token !== 'string' || !ok.access_token || !Number.isFinite(expires) || expires <= 0)
    throw new TokenEndpointError(
      `The token endpoint ${hostOf(url)} answered HTTP ${res.status} without an access_token and expires_in; retryable.`,
      { retryable: true, status: res.status },
    );
  return {
    accessToken: ok.access_token,
    refreshToken: typeof ok.refresh_token === 'string' && ok.refresh_token ? ok.refresh_token : undefined,
    expiresInSeconds: expires,
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Microsoft's descriptions run on with "Trace ID: … Correlation ID: … Timestamp: …" lines. */
function firstLine(text: string): string {
  return text.split(/\r?\n/)[0]!.trim();
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
