import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../errors.ts';
import { requestToken, TokenEndpointError, type TokenGrant } from './token-endpoint.ts';
import { oauthScope, productionAuthorizeUrl } from './wire.ts';

/**
 * The authorization-code grant behind `closeloop auth login` (§6): a consent URL the user opens in a
 * browser, then the code Microsoft hands back exchanged for a refresh token. PKCE (S256) binds the code
 * to this closeloop: a code that leaks from a browser history is useless without the verifier.
 */

/** Microsoft's redirect for apps without a web server: the code shows up in the address bar. */
export const nativeClientRedirectUri = 'https://login.microsoftonline.com/common/oauth2/nativeclient';

/** The authorize endpoint next to a token endpoint (…/oauth2/v2.0/token → …/oauth2/v2.0/authorize). */
export function authorizeUrlFor(tokenUrl: string): string {
  const url = tokenUrl.replace(/\/+$/, '');
  return url.endsWith('/token') ? `${url.slice(0, -'/token'.length)}/authorize` : productionAuthorizeUrl;
}

export interface ConsentRequest {
  url: string;
  state: string;
  codeVerifier: string;
  redirectUri: string;
}

export function createConsentRequest({
  tokenUrl,
  clientId,
  redirectUri = nativeClientRedirectUri,
}: {
  tokenUrl: string;
  clientId: string;
  redirectUri?: string;
}): ConsentRequest {
  const state = randomBytes(16).toString('base64url');
  // RFC 7636 §4.1: 43–128 characters; 32 random bytes give 43.
  const codeVerifier = randomBytes(32).toString('base64url');
  const url = new URL(authorizeUrlFor(tokenUrl));
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('response_mode', 'query');
  url.searchParams.set('scope', `openid profile ${oauthScope}`);
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', pkceChallenge(codeVerifier));
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('prompt', 'select_account');
  return { url: url.toString(), state, codeVerifier, redirectUri };
}

export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/**
 * The code from what the user pasted: the code itself, or the whole URL they were sent to (its query
 * carries `code` and `state`, or `error` when they declined). A state that differs from ours means the
 * URL belongs to another consent request.
 */
export function parseAuthorizationResponse(pasted: string, expectedState: string | undefined): string {
  const text = pasted.trim();
  if (!text) throw new AppError('validation_failed', 'No code given: paste the code, or the whole URL.');
  if (!/^https?:\/\//i.test(text) && !text.includes('code=')) return text;
  let params: URLSearchParams;
  if (!/^https?:\/\//i.test(text)) params = new URLSearchParams(text.replace(/^[^?#]*[?#]/, ''));
  else
    try {
      const url = new URL(text);
      params = new URLSearchParams(url.search || url.hash.slice(1));
    } catch {
      throw new AppError('validation_failed', 'That is neither a code nor a URL with ?code=… in it.');
    }
  const error = params.get('error');
  if (error)
    throw new AppError(
      'validation_failed',
      `Microsoft did not grant consent: ${error}${params.get('error_description') ? `: ${params.get('error_description')}` : ''}. Run \`closeloop auth login\` again and accept.`,
    );
  const code = params.get('code');
  if (!code)
    throw new AppError(
      'validation_failed',
      'The URL has no code=… parameter: paste the URL Microsoft sent you to.',
    );
  const state = params.get('state');
  if (expectedState && state && state !== expectedState)
    throw new AppError(
      'validation_failed',
      'This URL belongs to another consent request (its state differs): use the URL printed by the last `closeloop auth login`, or run it again.',
    );
  return code;
}

export interface CodeExchange {
  tokenUrl: string;
  clientId: string;
  clientSecret: string | undefined;
  code: string;
  redirectUri: string;
  /** Undefined when the consent URL carried no code_challenge. */
  codeVerifier: string | undefined;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** Trade the code for tokens. Microsoft's refusals become messages that say what to change. */
export async function exchangeAuthorizationCode(
  x: CodeExchange,
): Promise<TokenGrant & { refreshToken: string }> {
  let grant: TokenGrant;
  try {
    grant = await requestToken({
      url: x.tokenUrl,
      params: {
        client_id: x.clientId,
        client_secret: x.clientSecret,
        grant_type: 'authorization_code',
        code: x.code,
        redirect_uri: x.redirectUri,
        code_verifier: x.codeVerifier,
        scope: oauthScope,
      },
      ...(x.fetch ? { fetch: x.fetch } : {}),
      ...(x.timeoutMs ? { timeoutMs: x.timeoutMs } : {}),
    });
  } catch (err) {
    if (err instanceof TokenEndpointError) throw explainExchangeError(err, x.redirectUri);
    throw err;
  }
  if (!grant.refreshToken)
    throw new AppError(
      'validation_failed',
      'Microsoft returned no refresh token: the consent did not include offline_access. Run `closeloop auth login` again and accept every permission asked.',
    );
  return { ...grant, refreshToken: grant.refreshToken };
}

function explainExchangeError(err: TokenEndpointError, redirectUri: string): AppError {
  const said = err.description ?? err.oauthError ?? `HTTP ${err.status ?? '(no answer)'}`;
  if (err.retryable)
    return new AppError('service_unavailable', `${err.message} Nothing was stored; try again in a minute.`);
  // AADSTS700025: "Client is public so neither 'client_assertion' nor 'client_secret' should be presented."
  if (/public client|client is public|AADSTS700025/i.test(said))
    return new AppError(
      'validation_failed',
      `Microsoft refused the client secret (${said}). The redirect URI ${redirectUri} belongs to a public (desktop) app, which must not send a secret: for a Web app with a client secret, register a Web redirect URI for it and pass it with --redirect-uri; for a public app, remove MSADS_CLIENT_SECRET.`,
    );
  if (/redirect/i.test(said))
    return new AppError(
      'validation_failed',
      `Microsoft refused the redirect URI ${redirectUri} (${said}). It must be one of the app registration's redirect URIs, exactly, and the same as in the consent URL: pass it with --redirect-uri.`,
    );
  if (err.oauthError === 'invalid_grant')
    return new AppError(
      'validation_failed',
      `Microsoft refused the code (${said}). Codes work once and for about 10 minutes, and only with the redirect URI and login session that produced them: run \`closeloop auth login\` again and paste the new code promptly.`,
    );
  if (err.oauthError === 'invalid_client' || err.oauthError === 'unauthorized_client')
    return new AppError(
      'validation_failed',
      `Microsoft refused the app (${said}): check MSADS_CLIENT_ID and MSADS_CLIENT_SECRET (or the account's --client-id / client secret).`,
    );
  return new AppError('validation_failed', `Microsoft refused the code exchange: ${err.message}`);
}
