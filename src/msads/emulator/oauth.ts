import { createHash, randomUUID } from 'node:crypto';
import { type Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { EmulatorEnv } from './call.ts';
import type { TokenStore } from './tokens.ts';

/*
 * The Microsoft identity platform endpoints closeloop uses (msads-api.md §6): the token endpoint
 * (refresh_token and authorization_code grants, form-encoded) and an authorize endpoint that consents at
 * once and redirects with a code, so a test can walk the whole sign-in.
 */

const requiredScope = 'msads.manage';

function tokenError(
  c: Context<EmulatorEnv>,
  error: string,
  aadsts: number,
  description: string,
  status: ContentfulStatusCode = 400,
) {
  return c.json(
    {
      error,
      error_description: `AADSTS${aadsts}: ${description} Trace ID: ${c.get('trackingId')}`,
      error_codes: [aadsts],
      timestamp: new Date().toISOString(),
      trace_id: c.get('trackingId'),
      correlation_id: randomUUID(),
    },
    status,
  );
}

const missing = (c: Context<EmulatorEnv>, parameter: string) =>
  tokenError(
    c,
    'invalid_request',
    900144,
    `The request body must contain the following parameter: '${parameter}'.`,
  );

const hasScope = (scope: string | null | undefined) =>
  (scope ?? '').split(/\s+/).some((s) => s === requiredScope || s.endsWith(`/${requiredScope}`));

function pkceMatches(challenge: string, method: 'S256' | 'plain', verifier: string): boolean {
  if (method === 'plain') return challenge === verifier;
  return createHash('sha256').update(verifier).digest('base64url') === challenge;
}

export function oauthRoutes(tokens: TokenStore, now: () => Date): Hono<EmulatorEnv> {
  const app = new Hono<EmulatorEnv>();

  app.post('/:tenant/oauth2/v2.0/token', async (c) => {
    const form = new URLSearchParams(await c.req.text());
    const fields = Object.fromEntries(form);
    if (fields.client_secret !== undefined) fields.client_secret = '…';
    c.set('recordBody', fields);
    const nowMs = now().getTime();
    const grantType = form.get('grant_type');
    const clientId = form.get('client_id');
    if (!grantType) return missing(c, 'grant_type');
    if (!clientId) return missing(c, 'client_id');

    let scope = form.get('scope');
    if (grantType === 'refresh_token') {
      const refreshToken = form.get('refresh_token');
      if (!refreshToken) return missing(c, 'refresh_token');
      if (!hasScope(scope))
        return tokenError(
          c,
          'invalid_scope',
          70011,
          `The provided value for the input parameter 'scope' is not valid; it must include ${requiredScope}.`,
        );
      const state = tokens.refreshToken(refreshToken);
      if (!state)
        return tokenError(
          c,
          'invalid_grant',
          70000,
          "The provided value for the 'refresh_token' is not valid.",
        );
      if (state.revoked)
        return tokenError(
          c,
          'invalid_grant',
          70000,
          'The refresh token has been revoked; the user must sign in again.',
        );
      if (state.clientId !== undefined && state.clientId !== clientId)
        return tokenError(
          c,
          'invalid_grant',
          70000,
          'The refresh token was issued to a different client_id.',
        );
      const rotated = tokens.rotateRefreshTokens
        ? tokens.issueRefreshToken(state.clientId ?? clientId)
        : refreshToken;
      if (rotated !== refreshToken && tokens.revokeRotated) state.revoked = true;
      return c.json(grant(tokens, nowMs, scope ?? '', rotated));
    }

    if (grantType === 'authorization_code') {
      const code = form.get('code');
      const redirectUri = form.get('redirect_uri');
      if (!code) return missing(c, 'code');
      if (!redirectUri) return missing(c, 'redirect_uri');
      const issued = tokens.code(code);
      if (!issued)
        return tokenError(
          c,
          'invalid_grant',
          70000,
          "The provided value for the 'code' parameter is not valid.",
        );
      if (issued.redeemed)
        return tokenError(c, 'invalid_grant', 54005, 'OAuth2 Authorization code was already redeemed.');
      if (issued.expiresAtMs <= nowMs)
        return tokenError(c, 'invalid_grant', 70008, 'The provided authorization code has expired.');
      if (issued.clientId !== clientId)
        return tokenError(c, 'invalid_grant', 70000, 'The code was issued to a different client_id.');
      if (issued.redirectUri !== redirectUri)
        return tokenError(
          c,
          'invalid_grant',
          50148,
          'The redirect_uri does not match the one used in the authorization request.',
        );
      if (issued.codeChallenge !== undefined) {
        const verifier = form.get('code_verifier');
        if (!verifier || !pkceMatches(issued.codeChallenge, issued.codeChallengeMethod, verifier))
          return tokenError(
            c,
            'invalid_grant',
            501481,
            'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
          );
      }
      issued.redeemed = true;
      scope = scope ?? issued.scope;
      return c.json(grant(tokens, nowMs, scope, tokens.issueRefreshToken(clientId)));
    }

    return tokenError(
      c,
      'unsupported_grant_type',
      70003,
      `The app requested an unsupported grant type '${grantType}'.`,
    );
  });

  app.get('/:tenant/oauth2/v2.0/authorize', (c) => {
    const q = (name: string) => c.req.query(name);
    const clientId = q('client_id');
    const redirectUri = q('redirect_uri');
    if (!clientId) return missing(c, 'client_id');
    if (!redirectUri || !URL.canParse(redirectUri)) return missing(c, 'redirect_uri');
    const back = new URL(redirectUri);
    const state = q('state');
    const redirectWith = (params: Record<string, string>) => {
      for (const [k, v] of Object.entries(params)) back.searchParams.set(k, v);
      if (state !== undefined) back.searchParams.set('state', state);
      return c.redirect(back.toString(), 302);
    };
    if (q('response_type') !== 'code')
      return redirectWith({
        error: 'unsupported_response_type',
        error_description: 'response_type must be code.',
      });
    const scope = q('scope') ?? '';
    if (!hasScope(scope))
      return redirectWith({
        error: 'invalid_scope',
        error_description: `The scope must include ${requiredScope}.`,
      });
    const method = q('code_challenge_method') ?? 'plain';
    if (method !== 'S256' && method !== 'plain')
      return redirectWith({
        error: 'invalid_request',
        error_description: 'code_challenge_method must be S256 or plain.',
      });
    // The emulator's user consents at once.
    const code = tokens.issueCode(
      { clientId, redirectUri, scope, codeChallenge: q('code_challenge'), codeChallengeMethod: method },
      now().getTime(),
    );
    return redirectWith({ code });
  });

  return app;
}

function grant(tokens: TokenStore, nowMs: number, scope: string, refreshToken: string) {
  return {
    token_type: 'Bearer',
    scope,
    expires_in: tokens.accessTokenTtlSeconds,
    ext_expires_in: tokens.accessTokenTtlSeconds,
    access_token: tokens.issueAccessToken(nowMs),
    refresh_token: refreshToken,
  };
}
